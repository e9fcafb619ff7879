"""Usage trend (docs/health.md): events in the last 30 days ÷ events in the 30 days before.

Missing is not perfect (docs/health.md#missing-is-not-perfect): the trend is missing until the customer has
two full 30-day windows of history, D - start < 60 days, where start is its contract_start or, when that is
empty, its first usage day (a customer in its first 60 days is not "growing 100 %"); and, as before, when the
30 days before had no events (nothing to compare against)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Min

from accounts.selectors import contract_start_by_customer
from metrics.models import UsageDaily

from . import Factor, Reading, change_verb, excused, register
from .usage_window import WINDOW_DAYS, usage_window, without_feed

HISTORY_DAYS = 2 * WINDOW_DAYS  # two full windows: the trend's 30 days and the 30 before


@register
class UsageTrend(Factor):
    key = "usage_trend"
    label = "Usage trend"
    description = (
        "Events in the last 30 days ÷ events in the previous 30 (missing before day 60 of the contract, "
        "or of usage without a contract start, and without earlier usage)"
    )
    default_weight = 10
    default_bad = 0.5
    default_good = 1.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        if (no_feed := without_feed(customer_ids, day)) is not None:
            return no_feed
        stats = {
            cid: u
            for cid, u in usage_window(customer_ids=customer_ids, day=day).items()
            if u.previous  # nothing to compare against: missing, not zero
        }
        old_enough = _with_full_history(customer_ids, day=day)
        young = excused("under 60 days of history")
        readings = {cid: young for cid in customer_ids if cid not in old_enough}
        for cid, u in stats.items():
            if cid in old_enough:
                readings[cid] = Reading(
                    value=u.recent / u.previous,
                    as_of=u.last,
                    detail={"recent": u.recent, "previous": u.previous},
                )
        return readings

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


def _with_full_history(customer_ids: list[int], *, day: dt.date) -> set[int]:
    """Those of `customer_ids` whose history started at least HISTORY_DAYS before `day`: contract_start, or
    when empty the first usage day, on or before day - 60. Two queries at most; the second reads the usage
    rollup only for customers without a contract start."""
    if not customer_ids:
        return set()
    cutoff = day - dt.timedelta(days=HISTORY_DAYS)
    starts = contract_start_by_customer(customer_ids=customer_ids)
    out = {cid for cid, start in starts.items() if start is not None and start <= cutoff}
    unknown = [cid for cid, start in starts.items() if start is None]
    if unknown:
        first_days = (
            UsageDaily.objects.filter(customer_id__in=unknown, day__lte=day)
            .values("customer_id")
            .annotate(first=Min("day"))
            .values_list("customer_id", "first")
            .order_by()
        )
        out |= {cid for cid, first in first_days if first <= cutoff}
    return out
