"""Usage of one feature (docs/health.md#usage-of-one-feature): the customer's events of that feature in the
last 30 days, per license where it has licenses. Not in the default models: these factors exist for the
fitting, which lets the install's own history say which features go with staying and which with leaving
(`feature:<name>` keys, one per feature the fit considers, oriented by that history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Sum

from accounts.selectors import licenses_by_customer
from metrics.models import UsageDaily

from . import Factor, Reading, change_verb, id_range
from .usage_window import WINDOW_DAYS, shared_cache, without_feed

PREFIX = "feature:"


def is_feature_key(key: str) -> bool:
    return key.startswith(PREFIX) and len(key) > len(PREFIX)


def feature_events(*, customer_ids: list[int], day: dt.date) -> dict[int, dict[str, int]]:
    """Per customer: events per feature in the 30 days up to `day` (one GROUP BY, shared by every feature
    factor of a chunk through the open shared scan)."""
    cache = shared_cache()
    key = ("feature_events", min(customer_ids, default=0), max(customer_ids, default=0), day)
    if cache is not None and key in cache:
        return cache[key]
    rows = (
        UsageDaily.objects.filter(
            **id_range(customer_ids), day__gt=day - dt.timedelta(days=WINDOW_DAYS), day__lte=day
        )
        .values_list("customer_id", "feature")
        .annotate(n=Sum("events"))
        .order_by()
    )
    out: dict[int, dict[str, int]] = {}
    for cid, feature, n in rows:
        out.setdefault(cid, {})[feature] = n
    if cache is not None:
        cache[key] = out
    return out


def _licenses(customer_ids: list[int]) -> dict[int, int]:
    cache = shared_cache()
    key = ("licenses", min(customer_ids, default=0), max(customer_ids, default=0))
    if cache is not None and key in cache:
        return cache[key]
    got = licenses_by_customer(customer_ids=customer_ids)
    if cache is not None:
        cache[key] = got
    return got


class FeatureUsage(Factor):
    """One feature's usage. Made on demand by `get_factor("feature:<name>")`, not registered."""

    default_weight = 0
    default_bad = 0.0
    default_good = 1.0

    def __init__(self, feature: str) -> None:
        self.feature = feature
        self.key = PREFIX + feature
        self.label = f"Usage of “{feature}”"
        self.description = (
            f"Events of the “{feature}” feature in the last 30 days, per license where the customer has "
            "licenses (a factor the fitting proposes when the install's history links it with churn)"
        )

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        if (no_feed := without_feed(customer_ids, day)) is not None:
            return no_feed
        events = feature_events(customer_ids=customer_ids, day=day)
        licenses = _licenses(customer_ids)
        readings = {}
        for cid in customer_ids:
            n = events.get(cid, {}).get(self.feature, 0)
            seats = licenses.get(cid, 0)
            readings[cid] = Reading(
                value=n / seats if seats > 0 else float(n),
                as_of=day,
                detail={"events": n, "licenses": seats},
            )
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        n, seats = detail.get("events", 0), detail.get("licenses", 0)
        if seats:
            return f"{n:,} “{self.feature}” events in 30 days ({value:.1f} per license)"
        return f"{n:,} “{self.feature}” events in 30 days"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = before["detail"].get("events", 0), after["detail"].get("events", 0)
            return f"“{self.feature}” events in 30 days {change_verb(was, now)} from {was:,} to {now:,}"
        return super().explain(before, after, delta)
