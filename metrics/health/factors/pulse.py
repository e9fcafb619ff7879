"""CSM pulse (docs/health.md): the latest pulse score 1-5; missing once it is older than 60 days."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.selectors import any_pulse_between, latest_pulse_by_customer
from core.sql import day_bounds

from . import Factor, Reading, as_date, excuse_all, register, source_live

FRESH_DAYS = 60


@register
class CsmPulse(Factor):
    key = "pulse"
    label = "CSM pulse"
    description = "The CSM's latest pulse, 1-5 (missing when older than 60 days)"
    default_weight = 15
    default_bad = 1.0
    default_good = 5.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        oldest, _ = day_bounds(day - dt.timedelta(days=FRESH_DAYS))
        _start, end = day_bounds(day)
        if customer_ids and not source_live(
            self.key, day, lambda: any_pulse_between(since=oldest, until=end)
        ):
            return excuse_all(customer_ids, "no CSM pulse logged in the install in the last 60 days")
        # Only pulses of the last 60 days can count, so the latest of those is the latest that matters.
        latest = latest_pulse_by_customer(customer_ids=customer_ids, since=oldest, until=end)
        return {cid: Reading(value=float(score), as_of=as_date(on)) for cid, (score, on) in latest.items()}

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        return "\u2013" if value is None else f"{value:.0f} / 5"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if after.get("raw_value") is None and before and before.get("raw_value") is not None:
            last = before["raw_value"]
            return f"CSM pulse expired (none in {FRESH_DAYS} days; the last was {last:.0f} / 5)"
        return super().explain(before, after, delta)
