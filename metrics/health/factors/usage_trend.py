"""Usage trend (docs/health.md): events in the last 30 days ÷ events in the 30 days before."""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import Factor, Reading, change_verb, register
from .usage_window import usage_window


@register
class UsageTrend(Factor):
    key = "usage_trend"
    label = "Usage trend"
    description = "Events in the last 30 days ÷ events in the previous 30 (missing without earlier usage)"
    default_weight = 10
    default_bad = 0.5
    default_good = 1.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        return {
            cid: Reading(
                value=u.recent / u.previous,
                as_of=u.last,
                detail={"recent": u.recent, "previous": u.previous},
            )
            for cid, u in usage_window(customer_ids=customer_ids, day=day).items()
            if u.previous  # nothing to compare against: missing, not zero
        }

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        return f"{value:.2f}x ({detail.get('recent', 0):,} vs {detail.get('previous', 0):,} events)"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = before["detail"]["recent"], after["detail"]["recent"]
            return (
                f"Events in the last 30 days {change_verb(was, now)} from {was:,} to {now:,} "
                f"({after['raw_value']:.2f}x the 30 days before)"
            )
        return super().explain(before, after, delta)
