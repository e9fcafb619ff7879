"""Relative usage (docs/health.md): the customer's usage in the last 30 days (events, per license where it has
licenses) as a percentile rank among the scored customers of its segment.

The rank needs the whole population, but the engine asks per chunk of ~5,000 customers, possibly in several
worker processes. There are two ways to get it.

**Exact** (`distribution`: the nightly recompute, a backfill, the backtest, the preview, the fit). The
population's values are read with ONE aggregate statement per day (the scored customers of population.py LEFT
JOIN the 30 days of the UsageDaily rollup, GROUP BY customer) and kept in this process for the chunks that
follow: per (day, database), the latest MEMO_DAYS days, for at most MEMO_SECONDS. Each chunk is then ranked in
Python with bisect, without a query. Nothing is shared between processes: a past day's data can change (an
import), and these callers rank against the day as it is in the database now.

**Live** (`live_ranks`: the live recompute of dirty customers, docs/health.md#live-data, always today). The
batch's customers are ranked on their usage read afresh (one query for the batch) against an **hourly
anchor**: the sorted values of the day's population, built by the first process that needs it in each clock
hour (the same aggregate statement) and kept in Django's cache (Redis in production), so the other worker
processes load it (a few MB of arrays) instead of reading the whole base's usage again. Each process keeps its
copy for the rest of the hour and moves into it, within the sorted lists, every customer it recomputes. So a
live rank is the customer's usage now among its peers' usage at most one hour old (the anchor, or fresher for
the customers this process recomputed since). Only today's anchor is ever built; `forget(shared=True)`
invalidates every anchor (a version key in the cache).

Cost (the 100,000-customer bench database, 10 M rollup rows, PostgreSQL, a shared 2-core machine): the
aggregate statement takes 2.3 to 3 s of CPU on a quiet machine, ~7.5 s under load (a hash join and one
aggregate; ~0.7 s of it Python), and ranking a chunk of 5,000 against it 0.05 s; one chunk's usage scan takes
0.8 s there, so the day's 20 chunks read ~15 s of usage and the exact path adds one statement per worker
process. A caller that asks about many different days (the backtest's early warning) pays it per day. The
live path pays it once an hour in total (the anchor: 3.6 MB in the cache), plus a load of 10 to 15 ms per
process and hour (bench/bench_live.py; docs/operations.md#live-data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import uuid
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import FilteredRelation, Max, Q, Sum

from ..population import scored_customers
from . import Factor, Reading, change_verb, excuse_all, register
from .usage_window import NO_FEED, WINDOW_DAYS, usage_feed_live

log = logging.getLogger(__name__)

MIN_SEGMENT = 30  # a segment with fewer scored customers is compared with the whole base
MEMO_DAYS = 4
MEMO_SECONDS = 300  # a day's chunks run within minutes; a later recompute of the same day reads afresh
ANCHOR_SECONDS = 3600  # a live anchor serves the clock hour it was built in: at most an hour old
ANCHOR_FORMAT = 1  # part of the cache key: a deploy that changes the anchor's shape reads none of the old
BUILD_WAIT_SECONDS = 60  # how long a process waits for another's build before building the anchor itself
BUILD_POLL_SECONDS = 0.25

_now = time.time  # the wall clock the hour is read from (tests move it)


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


def forget(*, shared: bool = False) -> None:
    """Drop this process's memoized distributions and live anchor copies (tests; after changing data for a day
    already ranked). With `shared`, also every process's anchors: a new version in the cache, so the next live
    batch anywhere builds a new one."""
    _memo.clear()
    _live.clear()
    if shared:
        try:
            cache.set(_version_key(), uuid.uuid4().hex, timeout=None)
        except Exception:
            log.warning("Could not invalidate relative usage's live anchors in the cache.", exc_info=True)


def percentile(value: float, ordered: Sequence[float]) -> float:
    """Percentile rank of `value` in the sorted `ordered` (which includes it): the share of the group with
    strictly lower usage plus half the share with equal usage (ties, itself included), times 100."""
    lower = bisect_left(ordered, value)
    ties = bisect_right(ordered, value) - lower
    return 100.0 * (lower + ties / 2) / len(ordered)


def _db() -> tuple[str, str]:
    return (connection.alias, str(connection.settings_dict.get("NAME")))


def distribution(day: dt.date) -> Distribution:
    """The scored population's usage on `day`, read from the database and memoized per (day, database) in this
    process (the latest MEMO_DAYS days, MEMO_SECONDS): the exact path, never shared between processes."""
    key = (day, *_db())
    hit = _memo.get(key)
    if hit is not None and time.monotonic() - hit[0] < MEMO_SECONDS:
        return hit[1]
    dist = _build(_peers(day))
    with _memo_lock:  # bounded: the latest MEMO_DAYS days (a backtest reads a few dates at once)
        _memo[key] = (time.monotonic(), dist)
        while len(_memo) > MEMO_DAYS:
            del _memo[next(iter(_memo))]
    return dist


def _peers(day: dt.date, customer_ids: Sequence[int] | None = None) -> dict[int, Peer]:
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


def _any_value(ordered: Sequence[float]) -> bool:
    """Whether a sorted population has anyone with usage (its largest value above 0)."""
    return bool(len(ordered)) and ordered[-1] > 0


def _groups(peers: dict[int, Peer]) -> tuple[dict[str, list[float]], list[float]]:
    by_segment: dict[str, list[float]] = {}
    for p in peers.values():
        if p.segment:  # no segment: compared with the whole base
            by_segment.setdefault(p.segment, []).append(p.value)
    groups = {s: sorted(v) for s, v in by_segment.items() if len(v) >= MIN_SEGMENT}
    return groups, sorted(p.value for p in peers.values())


def _build(peers: dict[int, Peer]) -> Distribution:
    groups, everyone = _groups(peers)
    return Distribution(peers=peers, groups=groups, everyone=everyone)


# --- The live path's hourly anchor (docs/health.md#live-data) ----------------------------------------------


@dataclass
class Anchor:
    """The sorted values of a day's scored population as of `hour` (hours since the epoch), in compact arrays:
    the shape kept in the cache. A process's copy also records the customers it moved since (`moved`)."""

    day: dt.date
    hour: int
    version: str
    ids: array  # customer ids, ascending ('q')
    values: array  # their values ('d')
    segments: array  # index of their segment in `names` ('i')
    names: list[str]
    groups: dict[str, array]  # sorted values per segment with at least MIN_SEGMENT customers ('d')
    everyone: array  # sorted values of the whole base ('d')
    moved: dict[int, tuple[str, float] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, day: dt.date, hour: int, version: str, peers: dict[int, Peer]) -> Anchor:
        groups, everyone = _groups(peers)
        ids = sorted(peers)
        names = sorted({peers[c].segment for c in ids})
        index = {name: i for i, name in enumerate(names)}
        return cls(
            day=day,
            hour=hour,
            version=version,
            ids=array("q", ids),
            values=array("d", (peers[c].value for c in ids)),
            segments=array("i", (index[peers[c].segment] for c in ids)),
            names=names,
            groups={s: array("d", v) for s, v in groups.items()},
            everyone=array("d", everyone),
        )

    def value_of(self, customer_id: int) -> tuple[str, float] | None:
        """(segment, value) of a customer in this copy, None when it is not in the population."""
        if customer_id in self.moved:
            return self.moved[customer_id]
        i = bisect_left(self.ids, customer_id)
        if i < len(self.ids) and self.ids[i] == customer_id:
            return self.names[self.segments[i]], self.values[i]
        return None

    def move(self, customer_id: int, new: tuple[str, float] | None) -> None:
        """Put the customer's new (segment, value) in place of its old one in the sorted lists (None: it is
        not in the population). The groups themselves are the anchor's: a segment does not become or stop
        being a group within the hour."""
        with _live_lock:  # a threaded worker's batches share the process's copy
            old = self.value_of(customer_id)
            if old == new:
                return
            for pair, remove in ((old, True), (new, False)):
                if pair is None:
                    continue
                segment, value = pair
                lists = [self.everyone]
                if segment in self.groups:
                    lists.append(self.groups[segment])
                for ordered in lists:
                    if remove:
                        del ordered[bisect_left(ordered, value)]
                    else:
                        insort(ordered, value)
            self.moved[customer_id] = new


@dataclass(frozen=True)
class LiveBatch:
    day: dt.date
    ids: frozenset[int]
    fresh: dict[int, Peer]  # the batch's scored customers, usage read now
    anchor: Anchor


_live: dict[tuple[dt.date, str, str], Anchor] = {}  # this process's copy of each day's anchor
_live_lock = threading.RLock()
_batch: ContextVar[LiveBatch | None] = ContextVar("relative_usage_live_batch", default=None)


def _version_key() -> str:
    return f"health:relative_usage:anchor-version:{_db()[1]}"


def _anchor_key(day: dt.date, hour: int, version: str) -> str:
    return f"health:relative_usage:anchor:{ANCHOR_FORMAT}:{_db()[1]}:{version}:{day.isoformat()}:{hour}"


def _version() -> str | None:
    """The anchors' current version (forget(shared=True) changes it); None when the cache cannot be read."""
    try:
        version = cache.get(_version_key())
        if version is None:
            cache.add(_version_key(), uuid.uuid4().hex, timeout=None)
            version = cache.get(_version_key())
        return version
    except Exception:
        log.warning(
            "Relative usage: the cache is not answering; the anchor is built in process.", exc_info=True
        )
        return None


def live_anchor(day: dt.date) -> Anchor:
    """This process's copy of `day`'s anchor for the current clock hour: kept from an earlier batch of the
    hour, else loaded from the cache, else built (once in the hour across processes: the first to take the
    build key builds and publishes it; the others wait for it)."""
    hour = int(_now() // ANCHOR_SECONDS)
    version = _version()
    key = (day, *_db())
    mine = _live.get(key)
    if mine is not None and mine.hour == hour and mine.version == (version or mine.version):
        return mine
    anchor = _shared_anchor(day, hour, version) if version is not None else None
    if anchor is None:  # no cache: this process's own anchor for the hour
        anchor = Anchor.of(day, hour, mine.version if mine else "local", _peers(day))
    with _memo_lock:
        _live[key] = anchor
        while len(_live) > 2:  # today's, and yesterday's around midnight
            del _live[next(iter(_live))]
    return anchor


def _shared_anchor(day: dt.date, hour: int, version: str) -> Anchor | None:
    key = _anchor_key(day, hour, version)
    building = key + ":building"
    try:
        anchor = cache.get(key)
        if anchor is not None:
            return anchor
        mine = cache.add(building, 1, timeout=BUILD_WAIT_SECONDS)
        if not mine:  # another process is building it
            deadline = time.monotonic() + BUILD_WAIT_SECONDS
            while time.monotonic() < deadline:
                time.sleep(BUILD_POLL_SECONDS)
                anchor = cache.get(key)
                if anchor is not None:
                    return anchor
                if cache.get(building) is None:  # done just now, or it gave up (its batch failed)
                    anchor = cache.get(key)
                    if anchor is not None:
                        return anchor
                    break  # build it here
    except Exception:
        log.warning(
            "Relative usage: the cache is not answering; the anchor is built in process.", exc_info=True
        )
        return None
    try:
        anchor = Anchor.of(day, hour, version, _peers(day))
    except BaseException:
        if mine:  # let a waiting process build it rather than wait out the key
            with contextlib.suppress(Exception):
                cache.delete(building)
        raise
    try:
        cache.set(key, anchor, timeout=ANCHOR_SECONDS + 300)
        if mine:
            cache.delete(building)
    except Exception:
        log.warning("Relative usage: could not share the anchor built here.", exc_info=True)
    return anchor


@contextlib.contextmanager
def live_ranks(day: dt.date, customer_ids: Sequence[int]) -> Iterator[LiveBatch]:
    """Within the block, relative usage ranks `customer_ids` (a live batch) on their usage read now (one
    query) against the hour's anchor, into which they are moved first (docs/health.md#live-data)."""
    anchor = live_anchor(day)
    fresh = _peers(day, customer_ids=customer_ids)
    for cid in customer_ids:
        peer = fresh.get(cid)
        anchor.move(cid, None if peer is None else (peer.segment, peer.value))
    batch = LiveBatch(day=day, ids=frozenset(customer_ids), fresh=fresh, anchor=anchor)
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _reading(peer: Peer, groups: dict[str, Any], everyone: Sequence[float]) -> Reading:
    group = groups.get(peer.segment)
    ordered = group if group is not None else everyone
    return Reading(
        value=percentile(peer.value, ordered),
        as_of=peer.last,
        detail={
            "events": peer.events,
            "licenses": peer.licenses,
            "group": peer.segment if group is not None else "",
            "peers": len(ordered),
        },
    )


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
        if not customer_ids:
            return {}
        readings: dict[int, Reading] = {}
        batch = _batch.get()
        if batch is not None and batch.day == day:  # a live batch: its fresh usage against the hour's anchor
            fresh = any(p.events for p in batch.fresh.values())
            if not (fresh or _any_value(batch.anchor.everyone) or usage_feed_live(day)):
                return excuse_all(customer_ids, NO_FEED)
            with _live_lock:
                for cid in customer_ids:
                    peer = batch.fresh.get(cid)
                    if peer is not None:
                        readings[cid] = _reading(peer, batch.anchor.groups, batch.anchor.everyone)
            customer_ids = [cid for cid in customer_ids if cid not in batch.ids]
            if not customer_ids:
                return readings
        dist = distribution(day)
        # The population's own usage answers "is there a usage feed?" (docs/health.md#missing-is-not-perfect)
        # unless nobody scored has any; then the install-wide check decides.
        if not (_any_value(dist.everyone) or usage_feed_live(day)):
            return {**readings, **excuse_all(customer_ids, NO_FEED)}
        for cid in customer_ids:
            peer = dist.peers.get(cid)
            if peer is not None:  # else: not in the scored population on `day`
                readings[cid] = _reading(peer, dist.groups, dist.everyone)
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
