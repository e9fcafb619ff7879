"""Engagement (docs/health.md): days since the last touchpoint; missing if there never was one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.selectors import any_touchpoint_between, last_touchpoint_day_by_customer
from core.sql import day_bounds

from . import Factor, Reading, as_date, change_verb, excuse_all, register, source_live

FEED_DAYS = 180  # no touchpoint logged for any customer in [D - 179, D]: the install does not log them


@register
class Engagement(Factor):
    key = "engagement"
    label = "Engagement"
    description = "Days since the last touchpoint (missing if there never was one)"
    default_weight = 10
    default_bad = 60.0
    default_good = 14.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        _start, end = day_bounds(day)
        feed_start, _ = day_bounds(day - dt.timedelta(days=FEED_DAYS - 1))
        if customer_ids and not source_live(
            self.key, day, lambda: any_touchpoint_between(since=feed_start, until=end)
        ):
            return excuse_all(customer_ids, "no touchpoint logged in the install in the last 180 days")
        last_days = last_touchpoint_day_by_customer(customer_ids=customer_ids, until=end)
        readings = {}
        for cid, last in last_days.items():
            last_day = as_date(last)
            readings[cid] = Reading(value=float((day - last_day).days), as_of=last_day)
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "never"
        return "today" if value == 0 else f"{value:.0f} day{'s' if value != 1 else ''} ago"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = before["raw_value"], after["raw_value"]
            return f"Days since the last touchpoint {change_verb(was, now)} from {was:.0f} to {now:.0f}"
        return super().explain(before, after, delta)
