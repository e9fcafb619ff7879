"""Feature breadth (docs/health.md): key features used in the last 30 days ÷ key features configured."""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import Factor, Reading, change_verb, excuse_all, register
from .usage_window import key_features, usage_window, without_feed


@register
class FeatureBreadth(Factor):
    key = "feature_breadth"
    label = "Feature breadth"
    description = "Key features used in the last 30 days ÷ key features configured (missing while none are)"
    default_weight = 10
    default_bad = 0.0
    default_good = 0.8

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        names = key_features()
        if not names:
            return excuse_all(customer_ids, "no key features configured")
        if (no_feed := without_feed(customer_ids, day)) is not None:
            return no_feed
        usage = usage_window(customer_ids=customer_ids, day=day)
        readings = {}
        for cid in customer_ids:
            stats = usage.get(cid)
            used = stats.key_used if stats else 0
            readings[cid] = Reading(
                value=used / len(names),
                as_of=stats.last_recent if stats else None,
                detail={"used": used, "configured": len(names)},
            )
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        return f"{detail.get('used', 0)} of {detail.get('configured', 0)} key features"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = before["detail"]["used"], after["detail"]["used"]
            total = after["detail"]["configured"]
            return f"Key features used {change_verb(was, now)} from {was} to {now} of {total}"
        return super().explain(before, after, delta)
