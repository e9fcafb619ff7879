"""Support load (docs/health.md): open tickets at the end of the day, urgent x3, high x2, others x1.

Missing is not perfect (docs/health.md#missing-is-not-perfect): without a ticket feed — no ticket for any
customer opened in the FEED_DAYS days up to the day — the factor is missing for every customer, not 0 = full
marks. With a feed, no open tickets is still a load of 0."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, Count, Q, Sum, Value, When

from core.sql import day_bounds
from metrics.models import Priority, Ticket

from . import Factor, Reading, excuse_all, id_range, register, source_live

WEIGHTS = {Priority.URGENT: 3, Priority.HIGH: 2}
FEED_DAYS = 180  # a ticket opened for any customer in [D - 179, D] means the install has a ticket feed


@register
class SupportLoad(Factor):
    key = "support_load"
    label = "Support load"
    description = (
        "Open tickets, urgent counted 3 times and high twice (0 without open tickets; missing when no "
        "ticket was received for any customer in the last 180 days)"
    )
    default_weight = 15
    default_bad = 5.0
    default_good = 0.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        _start, end = day_bounds(day)
        feed_start, _end = day_bounds(day - dt.timedelta(days=FEED_DAYS - 1))
        if not customer_ids:
            return {}
        if not source_live(
            self.key, day, Ticket.objects.filter(opened_at__gte=feed_start, opened_at__lt=end).exists
        ):
            return excuse_all(customer_ids, "no ticket feed")  # missing, not "no tickets" = full marks
        load = Case(
            *(When(priority=p, then=Value(w)) for p, w in WEIGHTS.items()),
            default=Value(1),
        )
        rows = {
            r["customer_id"]: r
            for r in Ticket.objects.filter(**id_range(customer_ids), opened_at__lt=end)
            .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=end))
            .values("customer_id")
            .annotate(
                load=Sum(load),
                open=Count("id"),
                urgent=Count("id", filter=Q(priority=Priority.URGENT)),
                high=Count("id", filter=Q(priority=Priority.HIGH)),
            )
            .order_by()
        }
        empty = {"load": 0, "open": 0, "urgent": 0, "high": 0}
        readings = {}
        for cid in customer_ids:
            row = rows.get(cid, empty)
            readings[cid] = Reading(
                value=float(row["load"]),
                as_of=day,
                detail={"open": row["open"], "urgent": row["urgent"], "high": row["high"]},
            )
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        parts = [f"{detail.get('open', 0)} open"]
        if detail.get("urgent"):
            parts.append(f"{detail['urgent']} urgent")
        if detail.get("high"):
            parts.append(f"{detail['high']} high")
        return f"{value:g} ({', '.join(parts)})"
