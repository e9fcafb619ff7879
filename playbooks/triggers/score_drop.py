"""Health score dropped (docs/playbooks.md): today's score is at least X points below the score N days ago."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import DecimalField, F, OuterRef, Subquery

from metrics.models import HealthSnapshot

from .base import Context, Match, as_int, finish, jsonable

CONDITION = "score_drop"
SPEED = "nightly"
DEFAULTS = {"points": 15, "days": 30}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {
        "points": as_int(params, "points", 15, low=1, high=100, errors=errors),
        "days": as_int(params, "days", 30, low=1, high=365, errors=errors),
    }
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return f"Health score drops {params['points']}+ points within {params['days']} days"


def reason(params: dict, values: dict) -> str:
    return (
        f"Health score dropped {values['drop']} points in {values['days']} days "
        f"({values['score_before']} → {values['score']})"
    )


def matches(ctx: Context) -> Iterator[Match]:
    earlier = ctx.today - dt.timedelta(days=ctx.params["days"])
    then = HealthSnapshot.objects.filter(
        customer_id=OuterRef("customer_id"), date=earlier, score__isnull=False
    )
    rows = (
        HealthSnapshot.objects.filter(date=ctx.today, score__isnull=False, customer_id__in=ctx.eligible)
        .annotate(
            before=Subquery(
                then.values("score")[:1], output_field=DecimalField(max_digits=4, decimal_places=1)
            )
        )
        .filter(before__gte=F("score") + ctx.params["points"])
        .values_list("customer_id", "score", "before")
        .order_by("customer_id")
    )
    for customer_id, score, before in rows:
        yield Match(
            customer_id=customer_id,
            values={
                "score": jsonable(score),
                "score_before": jsonable(before),
                "drop": jsonable(before - score),
                "days": ctx.params["days"],
                "date": ctx.today.isoformat(),
            },
            key=f"score_drop:{ctx.today.isoformat()}",
        )
