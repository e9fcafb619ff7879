"""License utilization (docs/health.md): active users in the last 30 days ÷ licenses (docs/metrics.md
"Engagement")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.selectors import any_customer_with_licenses, licenses_by_customer

from . import Factor, Reading, change_verb, excuse_all, register, source_live
from .usage_window import usage_window, without_feed


@register
class LicenseUtilization(Factor):
    key = "license_utilization"
    label = "License utilization"
    description = "Active users in the last 30 days ÷ licenses (missing without licenses)"
    default_weight = 20
    default_bad = 0.0
    default_good = 0.8

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        if customer_ids and not source_live(self.key, day, any_customer_with_licenses):
            return excuse_all(customer_ids, "no customer has licenses recorded")
        if (no_feed := without_feed(customer_ids, day)) is not None:
            return no_feed
        licenses = licenses_by_customer(customer_ids=customer_ids)
        usage = usage_window(customer_ids=customer_ids, day=day)
        readings = {}
        for cid, seats in licenses.items():
            stats = usage.get(cid)
            active = stats.active if stats else 0
            readings[cid] = Reading(
                value=active / seats,
                as_of=stats.last_recent if stats else None,
                detail={"active": active, "licenses": seats},
            )
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        return f"{detail.get('active', 0)} of {detail.get('licenses', 0)} ({value:.0%})"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = before["detail"]["active"], after["detail"]["active"]
            seats = after["detail"]["licenses"]
            if was == now:
                return f"Active users stayed at {now} of {seats} licenses"
            return f"Active users {change_verb(was, now)} from {was} to {now} of {seats} licenses"
        return super().explain(before, after, delta)
