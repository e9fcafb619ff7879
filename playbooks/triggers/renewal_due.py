"""Renewal due within N days (docs/playbooks.md). Fires once per renewal date (Run.key), whatever the
cooldown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from accounts.models import Customer
from playbooks.models import Run

from .base import Context, Match, as_int, finish

CONDITION = "renewal_due"
SPEED = "nightly"
DEFAULTS = {"days": 90}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {"days": as_int(params, "days", 90, low=1, high=730, errors=errors)}
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return f"Renewal date within {params['days']} days"


def reason(params: dict, values: dict) -> str:
    # The date, never "in N days": a stored sentence cannot stay true (docs/playbooks.md#relative-dates).
    return f"Renewal on {values['renewal_date']}"


def key_for(renewal_date: dt.date) -> str:
    return f"renewal:{renewal_date.isoformat()}"


def matches(ctx: Context) -> Iterator[Match]:
    horizon = ctx.today + dt.timedelta(days=ctx.params["days"])
    candidates = Customer.objects.filter(
        pk__in=ctx.eligible, renewal_date__gte=ctx.today, renewal_date__lte=horizon
    )
    # Already prepared for this very renewal date: one lookup for all candidates (keys are per date).
    done = set(
        Run.objects.filter(
            playbook_id=ctx.trigger.playbook_id,
            customer_id__in=candidates.values("pk"),
            key__startswith="renewal:",
        ).values_list("customer_id", "key")
    )
    rows = candidates.values_list("pk", "renewal_date").order_by("pk")
    for pk, renewal_date in rows:
        key = key_for(renewal_date)
        if (pk, key) in done:
            continue
        yield Match(
            customer_id=pk,
            values={"renewal_date": renewal_date.isoformat()},
            key=key,
        )
