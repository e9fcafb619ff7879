"""Usage dropped month over month (docs/playbooks.md): usage events of the last 30 days are down at least X %
from the 30 days before (from the UsageDaily rollup; customers with too few events before are ignored)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from metrics.models import UsageDaily

from .base import Context, Match, as_int, finish

CONDITION = "usage_drop"
SPEED = "nightly"
DEFAULTS = {"percent": 30, "min_events": 20}
WINDOW = 30


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {
        "percent": as_int(params, "percent", 30, low=1, high=100, errors=errors),
        "min_events": as_int(params, "min_events", 20, low=1, high=1_000_000, errors=errors),
    }
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return (
        f"Usage events down {params['percent']} % or more month over month "
        f"(at least {params['min_events']} events the month before)"
    )


def reason(params: dict, values: dict) -> str:
    return (
        f"Usage down {values['change_pct']:.0f} %: {values['events_last_30d']} events in the last 30 days "
        f"vs {values['events_prev_30d']} the 30 days before"
    )


def matches(ctx: Context) -> Iterator[Match]:
    last_start = ctx.today - dt.timedelta(days=WINDOW - 1)
    prev_start = last_start - dt.timedelta(days=WINDOW)
    keep = 1 - ctx.params["percent"] / 100
    rows = (
        UsageDaily.objects.filter(day__gte=prev_start, day__lte=ctx.today, customer_id__in=ctx.eligible)
        .values("customer_id")
        .annotate(
            last=Coalesce(Sum("events", filter=Q(day__gte=last_start)), 0),
            prev=Coalesce(Sum("events", filter=Q(day__lt=last_start)), 0),
        )
        .filter(prev__gte=ctx.params["min_events"], last__lte=F("prev") * keep)
        .values_list("customer_id", "last", "prev")
        .order_by("customer_id")
    )
    for customer_id, last, prev in rows:
        yield Match(
            customer_id=customer_id,
            values={
                "events_last_30d": int(last),
                "events_prev_30d": int(prev),
                "change_pct": round((1 - last / prev) * 100, 1),
            },
        )
