"""Renewal at risk (docs/renewals.md#playbook-trigger, docs/playbooks.md): a pending renewal due within N days
that its CSM categorised `at_risk`, or whose customer is red. Fires once per renewal (Run.key), whatever the
cooldown; "fast", so a category set in the app starts the rescue within minutes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Q

from metrics.models import Band, ForecastCategory, Outcome, Renewal
from playbooks.models import Run

from .base import Context, Match, as_int, finish

CONDITION = "renewal_risk"
SPEED = "fast"
DEFAULTS = {"days": 60}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {"days": as_int(params, "days", 60, low=1, high=365, errors=errors)}
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return f"Renewal within {params['days']} days categorised at risk, or the customer is red"


def reason(params: dict, values: dict) -> str:
    # The date, never "in N days" (docs/playbooks.md#relative-dates).
    why = "categorised at risk" if values.get("category") == ForecastCategory.AT_RISK else "customer is red"
    return f"Renewal on {values['due_date']} ({why})"


def key_for(renewal_id: int) -> str:
    return f"renewal-risk:{renewal_id}"


def matches(ctx: Context) -> Iterator[Match]:
    horizon = ctx.today + dt.timedelta(days=ctx.params["days"])
    risky = (
        Renewal.objects.filter(
            customer_id__in=ctx.eligible,
            outcome=Outcome.PENDING,
            due_date__gte=ctx.today,
            due_date__lte=horizon,
        )
        .filter(Q(category=ForecastCategory.AT_RISK) | Q(customer__health_band=Band.RED))
        .order_by("customer_id", "due_date", "pk")
        .values_list("pk", "customer_id", "due_date", "category", "customer__health_band")
    )
    rows = list(risky)
    done = set(
        Run.objects.filter(
            playbook_id=ctx.trigger.playbook_id,
            customer_id__in={r[1] for r in rows},
            key__startswith="renewal-risk:",
        ).values_list("key", flat=True)
    )
    seen: set[int] = set()
    for pk, customer_id, due_date, category, band in rows:
        key = key_for(pk)
        if key in done or customer_id in seen:
            continue  # one match per customer: its earliest risky renewal not yet worked
        seen.add(customer_id)
        yield Match(
            customer_id=customer_id,
            values={"due_date": due_date.isoformat(), "category": category, "band": band},
            key=key,
        )
