"""Relative usage (docs/health.md): the customer's usage in the last 30 days (events, per license where it has
licenses) as a percentile rank among the scored customers of its segment.

The rank needs the whole population, but the engine asks per chunk of ~5,000 customers, possibly in several
worker processes. So the population's values are read with ONE aggregate statement per day (the scored
customers of population.py LEFT JOIN the 30 days of the UsageDaily rollup, GROUP BY customer) and kept in this
process for the chunks that follow: per (day, database), the latest MEMO_DAYS days, for at most
MEMO_SECONDS. Each chunk is then ranked in Python with bisect, without a query.

Cost: one statement per day and process, which reads the 30-day window of the rollup for the whole base (the
same rows the chunks' usage scans read, once more in total, not once per chunk) and answers one row per scored
customer. Measured on the 100,000-customer bench database (10 M rollup rows, PostgreSQL, a shared 2-core
machine): 7.5 s for the statement (a hash join and one aggregate), 0.05 s to rank a chunk of 5,000 against it;
one chunk's usage scan takes 0.8 s there, so the day's 20 chunks read ~15 s of usage and this adds ~7.5 s per
worker process. A caller that asks about many different days (the backtest's early warning) pays it per day.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import FilteredRelation, Max, Q, Sum

from ..population import scored_customers
from . import Factor, Reading, change_verb, register
from .usage_window import WINDOW_DAYS

MIN_SEGMENT = 30  # a segment with fewer scored customers is compared with the whole base
MEMO_DAYS = 4
MEMO_SECONDS = 300  # a day's chunks run within minutes; a later recompute of the same day reads afresh


@dataclass(frozen=True)
class Peer:
    segment: str
    licenses: int
    events: int
    value: float  # events, per license when the customer has licenses
    last: dt.date | None  # latest day with usage in the window


@dataclass(frozen=True)
class Distribution:
    peers: dict[int, Peer]  # every scored customer of the day
    groups: dict[str, list[float]]  # sorted values per segment with at least MIN_SEGMENT customers
    everyone: list[float]  # sorted values of the whole base


_memo: dict[tuple[dt.date, str, str], tuple[float, Distribution]] = {}
_memo_lock = threading.Lock()


def forget() -> None:
    """Drop the memoized distribution (tests; after changing data for a day already ranked)."""
    _memo.clear()


def percentile(value: float, ordered: list[float]) -> float:
    """Percentile rank of `value` in the sorted `ordered` (which includes it): the share of the group with
    strictly lower usage plus half the share with equal usage (ties, itself included), times 100."""
    lower = bisect_left(ordered, value)
    ties = bisect_right(ordered, value) - lower
    return 100.0 * (lower + ties / 2) / len(ordered)


def _memo_key(day: dt.date) -> tuple[dt.date, str, str]:
    return (day, connection.alias, str(connection.settings_dict.get("NAME")))


def distribution(day: dt.date) -> Distribution:
    """The scored population's usage on `day`, memoized per (day, database) in this process (the latest
    MEMO_DAYS days)."""
    key = _memo_key(day)
    hit = _memo.get(key)
    if hit is not None and time.monotonic() - hit[0] < MEMO_SECONDS:
        return hit[1]
    dist = _build(_peers(day))
    with _memo_lock:  # bounded: the latest MEMO_DAYS days (a backtest reads a few dates at once)
        _memo[key] = (time.monotonic(), dist)
        while len(_memo) > MEMO_DAYS:
            del _memo[next(iter(_memo))]
    return dist


def refresh_peers(day: dt.date, customer_ids: list[int]) -> None:
    """Re-read the usage of `customer_ids` into the memoized distribution of `day`, if there is one (the live
    recompute, docs/health.md#live-data: the customers whose usage just changed are ranked on their new usage
    against the memoized peers, one query for the batch instead of the whole population's)."""
    key = _memo_key(day)
    hit = _memo.get(key)
    if hit is None or time.monotonic() - hit[0] >= MEMO_SECONDS:
        return
    dist = hit[1]
    fresh = _peers(day, customer_ids=customer_ids)
    moved = [cid for cid in customer_ids if dist.peers.get(cid) != fresh.get(cid)]
    if any(
        cid not in dist.peers or cid not in fresh or dist.peers[cid].segment != fresh[cid].segment
        for cid in moved
    ):  # someone joined, left or changed segment: the groups themselves change
        peers = {**dist.peers, **fresh}
        for cid in customer_ids:
            if cid not in fresh:
                peers.pop(cid, None)
        _memo[key] = (hit[0], _build(peers))
        return
    for cid in moved:  # the same customers with new usage: move each value within its sorted lists
        old, new = dist.peers[cid], fresh[cid]
        lists = [dist.everyone]
        if old.segment and old.segment in dist.groups:
            lists.append(dist.groups[old.segment])
        for ordered in lists:
            del ordered[bisect_left(ordered, old.value)]
            insort(ordered, new.value)
        dist.peers[cid] = new


def _peers(day: dt.date, customer_ids: list[int] | None = None) -> dict[int, Peer]:
    start = day - dt.timedelta(days=WINDOW_DAYS - 1)
    population = scored_customers(day)
    if customer_ids is not None:
        population = population.filter(pk__in=customer_ids)
    rows = (
        population.annotate(
            recent_usage=FilteredRelation(
                "usage_daily", condition=Q(usage_daily__day__gte=start, usage_daily__day__lte=day)
            )
        )
        .values("pk", "segment", "licenses")
        .annotate(events=Sum("recent_usage__events", default=0), last=Max("recent_usage__day"))
        .order_by()
    )
    return {
        r["pk"]: Peer(
            r["segment"],
            r["licenses"],
            r["events"],
            r["events"] / r["licenses"] if r["licenses"] > 0 else float(r["events"]),
            r["last"],
        )
        for r in rows
    }


def _build(peers: dict[int, Peer]) -> Distribution:
    by_segment: dict[str, list[float]] = {}
    for p in peers.values():
        if p.segment:  # no segment: compared with the whole base
            by_segment.setdefault(p.segment, []).append(p.value)
    return Distribution(
        peers=peers,
        groups={s: sorted(v) for s, v in by_segment.items() if len(v) >= MIN_SEGMENT},
        everyone=sorted(p.value for p in peers.values()),
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@register
class RelativeUsage(Factor):
    key = "relative_usage"
    label = "Relative usage"
    description = (
        "Percentile of events in the last 30 days (per license where there are licenses) among scored "
        "customers of the same segment (the whole base for segments under 30); no usage ranks lowest"
    )
    default_weight = 15
    default_bad = 10.0
    default_good = 60.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        dist = distribution(day)
        readings = {}
        for cid in customer_ids:
            peer = dist.peers.get(cid)
            if peer is None:  # not in the scored population on `day`
                continue
            group = dist.groups.get(peer.segment)
            ordered = group if group is not None else dist.everyone
            readings[cid] = Reading(
                value=percentile(peer.value, ordered),
                as_of=peer.last,
                detail={
                    "events": peer.events,
                    "licenses": peer.licenses,
                    "group": peer.segment if group is not None else "",
                    "peers": len(ordered),
                },
            )
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        peers = f"in {detail['group']}" if detail.get("group") else "of all customers"
        usage = f"{detail.get('events', 0):,} events"
        if detail.get("licenses"):
            usage += f", {detail['events'] / detail['licenses']:.1f} per license"
        return f"{_ordinal(round(value))} percentile {peers} ({usage})"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if before and before.get("raw_value") is not None and after.get("raw_value") is not None:
            was, now = round(before["raw_value"]), round(after["raw_value"])
            if was == now:
                return f"Usage compared with peers stayed at the {_ordinal(now)} percentile"
            return (
                f"Usage compared with peers {change_verb(was, now)} from the {_ordinal(was)} to the "
                f"{_ordinal(now)} percentile"
            )
        return super().explain(before, after, delta)
