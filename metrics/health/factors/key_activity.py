"""Key-feature share (docs/health.md#key-feature-share): the part of the last 30 days' activity that is in
the key features. Breadth says whether the key features are touched at all; this says whether the account's
time goes there or elsewhere (a customer busy in exports, settings or ad views but not in what it bought the
product for is at risk, however much it does)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import Factor, Reading, change_verb, excuse_all, register
from .usage_window import key_features, usage_window, without_feed


@register
class KeyFeatureShare(Factor):
    key = "key_feature_share"
    label = "Key-feature share"
    description = (
        "Share of the last 30 days' usage events that are in key features (missing without usage in 30 days "
        "or while no key features are configured)"
    )
    default_weight = 10
    default_bad = 0.1
    default_good = 0.6

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
            if stats is None or not stats.recent:
                continue
            readings[cid] = Reading(
                value=stats.key_events / stats.recent,
                as_of=stats.last_recent,
                detail={"key_events": stats.key_events, "events": stats.recent},
            )
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        return f"{100 * value:.0f} % of {detail.get('events', 0):,} events in key features"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = round(100 * before["raw_value"]), round(100 * after["raw_value"])
            return f"Share of activity in key features {change_verb(was, now)} from {was} % to {now} %"
        return super().explain(before, after, delta)
