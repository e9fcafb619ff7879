"""License utilization (DESIGN.md §6): active users in the last 30 days ÷ licenses (§5 "Engagement")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Max

from accounts.models import Customer
from metrics.models import UsageDaily

from . import Factor, Reading, _verb, id_range, register

WINDOW_DAYS = 30


@register
class LicenseUtilization(Factor):
    key = "license_utilization"
    label = "License utilization"
    description = "Active users in the last 30 days ÷ licenses (missing without licenses)"
    default_weight = 20
    default_bad = 0.0
    default_good = 0.8

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        licenses = dict(
            Customer.objects.filter(**id_range(customer_ids, "pk"), licenses__gt=0).values_list(
                "pk", "licenses"
            )
        )
        active = {
            row["customer_id"]: row
            for row in UsageDaily.objects.filter(
                **id_range(customer_ids), day__gte=day - dt.timedelta(days=WINDOW_DAYS - 1), day__lte=day
            )
            .values("customer_id")
            .annotate(active=Count("user_id", distinct=True), last=Max("day"))
            .order_by()
        }
        readings = {}
        for cid, seats in licenses.items():
            row = active.get(cid, {"active": 0, "last": None})
            readings[cid] = Reading(
                value=row["active"] / seats,
                as_of=row["last"],
                detail={"active": row["active"], "licenses": seats},
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
            return f"Active users {_verb(was, now)} from {was} to {now} of {seats} licenses"
        return super().explain(before, after, delta)
