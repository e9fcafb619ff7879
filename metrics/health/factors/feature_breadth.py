"""Feature breadth (DESIGN.md §6): key features used in the last 30 days ÷ key features configured."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Max

from metrics.models import KeyFeature, UsageDaily

from . import Factor, Reading, _verb, id_range, register

WINDOW_DAYS = 30


@register
class FeatureBreadth(Factor):
    key = "feature_breadth"
    label = "Feature breadth"
    description = "Key features used in the last 30 days ÷ key features configured (missing while none are)"
    default_weight = 10
    default_bad = 0.0
    default_good = 0.8

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        names = list(KeyFeature.objects.values_list("name", flat=True))
        if not names:
            return {}
        used = {
            r["customer_id"]: r
            for r in UsageDaily.objects.filter(
                **id_range(customer_ids),
                feature__in=names,
                day__gte=day - dt.timedelta(days=WINDOW_DAYS - 1),
                day__lte=day,
            )
            .values("customer_id")
            .annotate(used=Count("feature", distinct=True), last=Max("day"))
            .order_by()
        }
        readings = {}
        for cid in customer_ids:
            row = used.get(cid, {"used": 0, "last": None})
            readings[cid] = Reading(
                value=row["used"] / len(names),
                as_of=row["last"],
                detail={"used": row["used"], "configured": len(names)},
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
            return f"Key features used {_verb(was, now)} from {was} to {now} of {total}"
        return super().explain(before, after, delta)
