"""No touchpoint for N days (docs/playbooks.md): nobody logged a call, meeting, email… with the customer
lately.

A customer that never had a touchpoint counts once it is older than N days (contract start, else creation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Customer, Touchpoint

from .base import Context, Match, as_int, finish

CONDITION = "no_touchpoint"
SPEED = "nightly"
DEFAULTS = {"days": 45}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {"days": as_int(params, "days", 45, low=1, high=730, errors=errors)}
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return f"No touchpoint logged for {params['days']} days"


def reason(params: dict, values: dict) -> str:
    if values.get("last_touchpoint_at"):
        # The date, never "for N days": a stored sentence cannot stay true (docs/playbooks.md#relative-dates).
        return f"No touchpoint since {values['last_touchpoint_at'][:10]}"
    return f"No touchpoint ever logged (customer since {values['since']})"


def matches(ctx: Context) -> Iterator[Match]:
    cutoff = ctx.now - dt.timedelta(days=ctx.params["days"])
    recent = Touchpoint.objects.filter(customer=OuterRef("pk"), occurred_at__gte=cutoff)
    latest = Touchpoint.objects.filter(customer=OuterRef("pk")).order_by("-occurred_at")
    rows = (
        Customer.objects.filter(pk__in=ctx.eligible)
        .annotate(
            since=Coalesce("contract_start", TruncDate("created_at")),
            last=Subquery(latest.values("occurred_at")[:1]),
        )
        .filter(~Exists(recent))
        .filter(Q(last__isnull=False) | Q(since__lte=cutoff.date()))
        .values_list("pk", "last", "since")
        .order_by("pk")
    )
    for pk, last, since in rows:
        days_since = (ctx.now - last).days if last else None
        yield Match(
            customer_id=pk,
            values={
                "last_touchpoint_at": last.isoformat() if last else None,
                "days_since": days_since,
                "since": since.isoformat() if since else None,
            },
        )
