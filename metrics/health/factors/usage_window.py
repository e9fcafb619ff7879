"""One scan of the UsageDaily rollup per chunk of customers, shared by the usage factors.

License utilization, usage trend and feature breadth all read the same 60 days of rollup rows; reading them
once (one GROUP BY with FILTERed aggregates) instead of three times keeps the recompute close to the cost of a
single pass over the usage data. `gather` opens a cache for the duration of one chunk; a factor called on its
own (tests) simply runs the query.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, IntegerField, Max, Q, Sum, Value

from metrics.models import KeyFeature, UsageDaily

from . import excuse_all, id_range, source_live

WINDOW_DAYS = (
    30  # docs/metrics.md: active = an event in [D-29, D]; the trend compares it with the 30 days before
)

# docs/health.md#missing-is-not-perfect: no usage for ANY customer in the 30 days up to the day means the
# install had no usage feed then (not connected yet, or broken): the usage factors are missing, not 0.
NO_FEED = "no usage received for any customer in the last 30 days"

_cache: contextvars.ContextVar[dict | None] = contextvars.ContextVar("usage_window_cache", default=None)


@dataclass(frozen=True)
class UsageStats:
    active: int  # distinct users in the last 30 days
    recent: int  # events in the last 30 days
    previous: int  # events in the 30 days before
    key_used: int  # distinct key features used in the last 30 days
    last_recent: dt.date | None  # latest day with usage in the last 30 days
    last: dt.date | None  # latest day with usage in the 60 days
    key_events: int = 0  # events on key features in the last 30 days


@contextmanager
def shared_scan() -> Any:
    """A cache for the duration of the block; nested blocks share the outermost one (a backfill may open
    one and preload it with `preload`)."""
    token = _cache.set(_cache.get() if _cache.get() is not None else {})
    try:
        yield
    finally:
        _cache.reset(token)


def shared_cache() -> dict | None:
    """The open shared scan's cache (None outside one)."""
    return _cache.get()


def _key(customer_ids: list[int], day: dt.date) -> tuple:
    return ("usage", min(customer_ids, default=0), max(customer_ids, default=0), day)


def preload(*, customer_ids: list[int], day: dt.date, stats: dict[int, UsageStats], names: tuple) -> None:
    """Hand the open cache figures computed elsewhere (the demo's backfill computes all days in one pass)."""
    cache = _cache.get()
    if cache is None:
        raise RuntimeError("preload() needs an open shared_scan()")
    cache[_key(customer_ids, day)] = stats
    cache["key_features"] = names


def key_features() -> tuple[str, ...]:
    cache = _cache.get()
    if cache is not None and "key_features" in cache:
        return cache["key_features"]
    names = tuple(KeyFeature.objects.order_by("name").values_list("name", flat=True))
    if cache is not None:
        cache["key_features"] = names
    return names


def usage_window(*, customer_ids: list[int], day: dt.date) -> dict[int, UsageStats]:
    """Per customer with usage in the 60 days up to `day`: the figures of the three usage factors."""
    cache = _cache.get()
    key = _key(customer_ids, day)
    if cache is not None and key in cache:
        return cache[key]
    recent_start = day - dt.timedelta(days=WINDOW_DAYS - 1)
    previous_start = recent_start - dt.timedelta(days=WINDOW_DAYS)
    recent = Q(day__gte=recent_start)
    names = key_features()
    rows = (
        UsageDaily.objects.filter(**id_range(customer_ids), day__gte=previous_start, day__lte=day)
        .values("customer_id")
        .annotate(
            active=Count("user_id", distinct=True, filter=recent),
            recent=Sum("events", filter=recent, default=0),
            previous=Sum("events", filter=Q(day__lt=recent_start), default=0),
            key_used=Count("feature", distinct=True, filter=recent & Q(feature__in=names))
            if names
            else Value(0, output_field=IntegerField()),
            last_recent=Max("day", filter=recent),
            last=Max("day"),
            key_events=Sum("events", filter=recent & Q(feature__in=names), default=0)
            if names
            else Value(0, output_field=IntegerField()),
        )
        .order_by()
    )
    stats = {
        r["customer_id"]: UsageStats(
            r["active"],
            r["recent"],
            r["previous"],
            r["key_used"],
            r["last_recent"],
            r["last"],
            r["key_events"],
        )
        for r in rows
    }
    if cache is not None:
        cache[key] = stats
    return stats


def usage_feed_live(day: dt.date, customer_ids: list[int] | None = None) -> bool:
    """Whether any customer has usage in the 30 days up to `day`, once per shared scan and day for every usage
    factor. The customers at hand answer first: their usage window is read by the usage factors anyway, and
    one of them with usage in the window is a feed. Only when none has any, the install-wide query runs."""

    def check() -> bool:
        at_hand = usage_window(customer_ids=customer_ids, day=day) if customer_ids else {}
        return any(s.recent for s in at_hand.values()) or _any_usage(day)

    return source_live("usage_feed", day, check)


def _any_usage(day: dt.date) -> bool:
    """One `EXISTS` over the daily rollup. On PostgreSQL through the BRIN index on `day` (migration 0019):
    with a plain LIMIT 1 the planner prefers a sequential scan, which reads every older row before reaching
    the window (a third of a second at 6 M rows), so sequential scans are off for this one statement."""
    start = day - dt.timedelta(days=WINDOW_DAYS - 1)
    rows = UsageDaily.objects.filter(day__gte=start, day__lte=day)
    if connection.vendor != "postgresql":
        return rows.exists()
    sql, params = rows.values("day")[:1].query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_seqscan', 'off', true)")
        cursor.execute(sql, params)
        found = cursor.fetchone() is not None
        cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [before])
    return found


def without_feed(customer_ids: list[int], day: dt.date) -> dict[int, Any] | None:
    """The readings of a usage factor when the install had no usage feed on `day` (every customer excused),
    else None."""
    if customer_ids and not usage_feed_live(day, customer_ids):
        return excuse_all(customer_ids, NO_FEED)
    return None
