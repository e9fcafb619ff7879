"""Usage trend (DESIGN.md §6): events in the last 30 days ÷ events in the 30 days before."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max, Q, Sum

from metrics.models import UsageDaily

from . import Factor, Reading, _verb, id_range, register

WINDOW_DAYS = 30


@register
class UsageTrend(Factor):
    key = "usage_trend"
    label = "Usage trend"
    description = "Events in the last 30 days ÷ events in the previous 30 (missing without earlier usage)"
    default_weight = 10
    default_bad = 0.5
    default_good = 1.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        recent_start = day - dt.timedelta(days=WINDOW_DAYS - 1)
        previous_start = recent_start - dt.timedelta(days=WINDOW_DAYS)
        rows = (
            UsageDaily.objects.filter(**id_range(customer_ids), day__gte=previous_start, day__lte=day)
            .values("customer_id")
            .annotate(
                recent=Sum("events", filter=Q(day__gte=recent_start), default=0),
                previous=Sum("events", filter=Q(day__lt=recent_start), default=0),
                last=Max("day"),
            )
            .order_by()
        )
        return {
            r["customer_id"]: Reading(
                value=r["recent"] / r["previous"],
                as_of=r["last"],
                detail={"recent": r["recent"], "previous": r["previous"]},
            )
            for r in rows
            if r["previous"]  # nothing to compare against: missing, not zero
        }

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        return f"{value:.2f}x ({detail.get('recent', 0):,} vs {detail.get('previous', 0):,} events)"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = before["detail"]["recent"], after["detail"]["recent"]
            return (
                f"Events in the last 30 days {_verb(was, now)} from {was:,} to {now:,} "
                f"({after['raw_value']:.2f}x the 30 days before)"
            )
        return super().explain(before, after, delta)
