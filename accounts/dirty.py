"""Dirty customers: whose health inputs changed since their health was computed (docs/health.md#live-data).

Every write that changes a factor's input (usage, tickets, survey answers, pulses, touchpoints, licenses, MRR,
key features, a new model version) calls `customers_mark_dirty` inside its own transaction: one statement,
an upsert into DirtyCustomer. Once the transaction commits, `kick` queues the live recompute (debounced: one
queued task for a burst of writes). The mark is in the database, so a broker that is down only delays the
recompute: the periodic sweep in the beat schedule finds the rows.

The live recompute (metrics.health.live) claims rows under a lease (`customers_claim_dirty`), recomputes them
and clears only the marks it saw (`customers_clear_dirty`: a row whose version moved meanwhile stays dirty for
the next pass). Each statement works on a whole list of ids at once: a JSON array on SQLite, an array on
PostgreSQL, so a write of 10,000 customers is still one statement.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from core.enqueue import task_named

from .models import Customer, DirtyCustomer

log = logging.getLogger(__name__)


def q(name: str) -> str:
    return connection.ops.quote_name(name)


DIRTY_TABLE = DirtyCustomer._meta.db_table
# The debounce key: set by the first write of a burst, deleted by the task when it starts.
KICK_KEY = "cshub:health-live:queued"
# Set by a live pass that recomputed a busy stream's batch (its customers, at least
# settings.CSHUB_LIVE_BUSY_BATCH): while it lasts, the first write of a burst queues the task
# CSHUB_LIVE_DEBOUNCE_BUSY_SECONDS later instead of CSHUB_LIVE_DEBOUNCE_SECONDS, so the batch grows and its
# fixed cost is shared by more customers. It expires after BUSY_MEMORY seconds: a stream that stops goes back
# to the short debounce.
BUSY_KEY = "cshub:health-live:busy"
BUSY_MEMORY = 30
# A claimed customer is left alone by other workers this long (a worker that died frees it after this).
LEASE = dt.timedelta(minutes=5)
# A write skips the cache while the queued task's ETA is further away than this (seconds): the slack for the
# clocks of the web processes' and the worker's hosts differing (Celery runs a task at its ETA by the
# worker's clock; the ETA a process learns from the cache was set by another process's clock).
KICK_MARGIN = 1.0
# The ETA (epoch seconds) of the latest queued live recompute this process knows of; 0: none known.
_queued_eta = 0.0
_deferred: ContextVar[bool] = ContextVar("live_recompute_deferred", default=False)


@contextmanager
def live_recompute_deferred() -> Iterator[None]:
    """Writes in this block mark their customers but queue no live recompute: the sweep does it later. For
    bulk writers that settle today's health themselves, such as the demo seed, whose playbook history must be
    replayed before any live trigger evaluation starts a run."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def upsert_sql(select: str) -> str:
    """The mark as SQL: INSERT the customer ids that `select` yields (columns: customer_id, since, 1), or add
    one to the version of those already dirty. For writers whose write is itself one statement (a survey
    answer on PostgreSQL) and must carry the mark in a CTE of the same statement."""
    t = q(DIRTY_TABLE)
    return (
        f"INSERT INTO {t} (customer_id, since, version) {select} "
        f"ON CONFLICT (customer_id) DO UPDATE SET version = {t}.version + 1"
    )


def _ids_select(vendor: str) -> str:
    """A SELECT of (id, since, 1) over one parameter holding every id, in id order (so two writers that mark
    overlapping customers lock their rows in the same order: no deadlock)."""
    if vendor == "postgresql":
        return "SELECT id, %s, 1 FROM unnest(%s::bigint[]) AS id ORDER BY id"
    return "SELECT DISTINCT CAST(value AS INTEGER), %s, 1 FROM json_each(%s) WHERE true ORDER BY 1"


def customers_mark_dirty(*, customer_ids: Iterable[int] | None) -> None:
    """Mark customers dirty in the current transaction (all customers when None): one statement. The
    live recompute is queued once the transaction commits."""
    params: list = [connection.ops.adapt_datetimefield_value(timezone.now())]
    if customer_ids is None:
        select = f"SELECT id, %s, 1 FROM {q(Customer._meta.db_table)} WHERE true ORDER BY id"  # noqa: S608
    else:
        ids = sorted({int(i) for i in customer_ids})
        if not ids:
            return
        select = _ids_select(connection.vendor)
        params.append(ids if connection.vendor == "postgresql" else json.dumps(ids))
    with connection.cursor() as cursor:
        cursor.execute(upsert_sql(select), params)
    transaction.on_commit(kick)


def kick() -> None:
    """Queue the live recompute in a few seconds, unless a burst of writes already did. Never raises: the
    write has committed, and a broker or cache that is down only delays the recompute until the sweep.

    No cache round trip while a task this process knows of is queued and cannot have started yet (before its
    ETA, less KICK_MARGIN): its claim comes after this write's commit, so it recomputes this mark. After that
    moment, writes go to the cache again; the task deletes the key when it starts, so a write that comes after
    its claim queues the next task (docs/health.md#live-data)."""
    global _queued_eta
    if _deferred.get():
        return
    now = time.time()
    try:
        task = task_named(settings.CSHUB_LIVE_RECOMPUTE_TASK)
        queued_later = not task.app.conf.task_always_eager  # eager (tests, the demo): it runs inline, now
        if queued_later and now < _queued_eta - KICK_MARGIN:
            return
        delay = settings.CSHUB_LIVE_DEBOUNCE_SECONDS
        if queued_later:  # one round trip: a task queued by another process (its ETA), and the stream's pace
            found = cache.get_many([KICK_KEY, BUSY_KEY])
            queued = found.get(KICK_KEY)
            if isinstance(queued, float):  # not started (it deletes the key first): it claims after this
                _queued_eta = max(_queued_eta, queued)
                return
            if found.get(BUSY_KEY):
                delay = max(delay, settings.CSHUB_LIVE_DEBOUNCE_BUSY_SECONDS)
        if cache.add(KICK_KEY, now + delay, timeout=int(delay) + 60):
            task.apply_async(countdown=delay)  # its ETA: at least now + delay
            _queued_eta = now + delay if queued_later else 0.0
            return
        queued = cache.get(KICK_KEY) if queued_later else None  # queued meanwhile by another process
        if isinstance(queued, float):
            _queued_eta = max(_queued_eta, queued)
    except Exception:
        log.warning("Could not queue the live health recompute; the sweep will pick it up.", exc_info=True)


def kick_taken() -> None:
    """The task has started: the next write queues another one (whose countdown is the debounce)."""
    global _queued_eta
    _queued_eta = 0.0
    try:
        cache.delete(KICK_KEY)
    except Exception:
        log.warning("Could not clear the live recompute's debounce key.", exc_info=True)


def live_pace_record(*, customers: int) -> None:
    """After a live pass: a batch of a busy stream (at least settings.CSHUB_LIVE_BUSY_BATCH customers) makes
    the next bursts' debounce the busy one for BUSY_MEMORY seconds; a smaller one ends it. A pass that found
    nothing (the sweep) leaves it as it is. Never raises: the pace only tunes the debounce."""
    if not customers:
        return
    try:
        if customers >= settings.CSHUB_LIVE_BUSY_BATCH:
            cache.set(BUSY_KEY, customers, timeout=BUSY_MEMORY)
        else:
            cache.delete(BUSY_KEY)
    except Exception:
        log.warning("Could not record the live recompute's pace.", exc_info=True)


def customers_claim_dirty(*, limit: int, now: dt.datetime | None = None) -> list[tuple[int, int]]:
    """Claim up to `limit` dirty customers no other worker holds, oldest mark first: [(id, version)]. The
    lease ends after LEASE (a worker that died frees its customers then)."""
    now = now or timezone.now()
    t = q(DIRTY_TABLE)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = f"""
        UPDATE {t} SET claimed_until = %s
        WHERE customer_id IN (
            SELECT customer_id FROM {t} WHERE claimed_until IS NULL OR claimed_until < %s
            ORDER BY since, customer_id LIMIT %s{lock}
        )
        RETURNING customer_id, version
    """  # noqa: S608 - fixed table name
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [adapt(now + LEASE), adapt(now), limit])
        return sorted((int(cid), int(version)) for cid, version in cursor.fetchall())


def customers_clear_dirty(*, claimed: Sequence[tuple[int, int]]) -> int:
    """After a recompute of `claimed` ([(id, version)]): delete the marks it saw; a customer marked again
    meanwhile (its version moved) stays dirty, unclaimed, for the next pass. Returns how many were cleared.
    On PostgreSQL a write still open on a row makes the DELETE wait for it, then re-check the version."""
    if not claimed:
        return 0
    t = q(DIRTY_TABLE)
    ids = [cid for cid, _ in claimed]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"DELETE FROM {t} USING unnest(%s::bigint[], %s::bigint[]) AS s(id, v) "  # noqa: S608
                f"WHERE {t}.customer_id = s.id AND {t}.version = s.v",
                [ids, [v for _, v in claimed]],
            )
            cleared = cursor.rowcount
            cursor.execute(f"UPDATE {t} SET claimed_until = NULL WHERE customer_id = ANY(%s)", [ids])  # noqa: S608
        else:
            cursor.executemany(
                f"DELETE FROM {t} WHERE customer_id = %s AND version = %s",  # noqa: S608
                [list(pair) for pair in claimed],
            )
            cleared = DirtyCustomer.objects.filter(pk__in=ids).count()
            cleared = len(claimed) - cleared
            cursor.execute(
                f"UPDATE {t} SET claimed_until = NULL WHERE customer_id IN (SELECT value FROM json_each(%s))",  # noqa: S608
                [json.dumps(ids)],
            )
    return cleared


def customers_release_dirty(*, customer_ids: Sequence[int]) -> None:
    """Give claimed customers back untouched (their recompute failed): the next pass retries them."""
    DirtyCustomer.objects.filter(pk__in=list(customer_ids)).update(claimed_until=None)


def dirty_since(*, customer_id: int | None = None) -> dt.datetime | None:
    """The oldest change not yet reflected in health (of one customer, or of any): None when none waits."""
    rows = DirtyCustomer.objects.all()
    if customer_id is not None:
        rows = rows.filter(pk=customer_id)
    return rows.aggregate(oldest=Min("since"))["oldest"]


def dirty_count() -> int:
    """How many customers wait for the live recompute (the progress of a recompute-now)."""
    return DirtyCustomer.objects.count()
