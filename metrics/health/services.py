"""Writes of the health model: recompute a day's snapshots (by chunks of customers), new model versions."""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.dirty import customers_mark_dirty
from accounts.models import Customer, User
from accounts.selectors import for_customers
from core import events
from core.sql import advisory_lock

from ..churn import churned_on
from ..models import HealthFactor, HealthModel, HealthSnapshot
from .engine import ModelConfig, Result, gather, score_many
from .nightly import health_day_hooks_sent, health_day_recomputed

logger = logging.getLogger(__name__)

DEFAULT_FACTORS = [  # the default model v4's (docs/health.md#the-default-model), as 0016 installs it
    ("license_utilization", 12, 0.0, 0.8),
    ("relative_usage", 12, 10.0, 60.0),
    ("usage_trend", 4, 0.5, 1.0),
    ("feature_breadth", 8, 0.0, 0.8),
    ("key_feature_share", 8, 0.1, 0.6),
    ("revenue_trend", 8, 0.8, 1.0),
    ("early_tenure", 12, 30.0, 180.0),
    ("support_load", 8, 5.0, 0.0),
    ("nps", 8, -100.0, 100.0),
    ("csat", 4, 0.0, 100.0),
    ("pulse", 8, 1.0, 5.0),
    ("engagement", 8, 60.0, 14.0),
]
# v4's green, yellow and leave margin: v3's weights with green from 64 (docs/health.md#the-default-model)
DEFAULT_THRESHOLDS = (Decimal(64), Decimal(40), Decimal(3))

# Customers per transaction / Celery task: ~15 queries and ~40 MB of memory each. Large enough that a task's
# fixed costs (a new database connection per task under Celery's Django fixup, query planning) stay small
# next to its work; 20 tasks at 100,000 customers still spread over any realistic number of workers.
CHUNK_SIZE = 5000


def customer_id_chunks(*, chunk_size: int = CHUNK_SIZE) -> list[tuple[int, int]]:
    """Inclusive (first id, last id) ranges of about `chunk_size` customers each, in id order."""
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    return [(ids[i], ids[min(i + chunk_size, len(ids)) - 1]) for i in range(0, len(ids), chunk_size)]


def scored_ids(lo: int, hi: int, *, day: dt.date) -> list[int]:
    """The customers with lo <= id <= hi scored on `day`: all but those churned on `day`
    (docs/health.md#who-is-scored, metrics.churn.churned_on: the ledger's churn or the lifecycle stage). One
    statement per chunk. Churned customers get no new snapshots: they are gone, and a red score would only
    start a rescue playbook for nobody. Their history stays, and a reactivated customer is scored again from
    the day it pays."""
    return list(
        Customer.objects.filter(pk__gte=lo, pk__lte=hi)
        .exclude(churned_on(day))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def previous_bands(*, customer_ids: Sequence[int], day: dt.date) -> dict[int, str]:
    """Yesterday's band of each of `customer_ids` that has one. Read over the id range the ids span (a
    chunk), then narrowed to the ids: an index range scan instead of a list of thousands of parameters."""
    customers, wanted = for_customers(customer_ids)
    rows = (
        HealthSnapshot.objects.filter(customers, date=day - dt.timedelta(days=1))
        .exclude(band="")
        .values_list("customer_id", "band")
        .order_by()
    )
    return {cid: band for cid, band in rows if cid in wanted}


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that builds a chunk's readings and results: tens of
    thousands of small dicts, all alive until the block ends, which the collector would otherwise traverse
    again and again for nothing (~20 % of the chunk's Python time). Reference counting still frees memory;
    cycles wait for the next collection after the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def health_chunk_recompute(*, day: dt.date, model_id: int, lo: int, hi: int, denormalise: bool = True) -> int:
    """Replace the snapshots of `day` for customers with lo ≤ id ≤ hi, in one transaction; returns how many.

    Idempotent: delete + insert of the whole range at once, so a re-run (or a task redelivered after a worker
    died) leaves exactly one snapshot per customer for the day. The Customer's denormalised health fields are
    refreshed in the same transaction, so they always equal the latest snapshot."""
    return _snapshots_replace(
        day=day, model_id=model_id, ids=scored_ids(lo, hi, day=day), lo=lo, hi=hi, denormalise=denormalise
    )


def health_customers_recompute(
    *, day: dt.date, model_id: int, customer_ids: Sequence[int], model: HealthModel | None = None
) -> int:
    """health_chunk_recompute for a list of customers (the live recompute of dirty customers,
    docs/health.md#live-data): the same reads, scoring and writes, on these ids only. `model`: the version
    `model_id` with its factors prefetched, when the caller has it (the live pass read it already)."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return 0
    ids = list(
        Customer.objects.filter(pk__in=wanted)
        .exclude(churned_on(day))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return _snapshots_replace(day=day, model_id=model_id, ids=ids, only=wanted, model=model)


def _snapshots_replace(
    *,
    day: dt.date,
    model_id: int,
    ids: list[int],
    lo: int | None = None,
    hi: int | None = None,
    only: list[int] | None = None,
    denormalise: bool = True,
    model: HealthModel | None = None,
) -> int:
    """Score `ids` on `day` and replace the day's snapshots of the range lo..hi (a chunk) or of the customers
    `only` (a list) in one transaction, refreshing their Customer copy."""
    if model is None or model.pk != model_id:
        model = HealthModel.objects.prefetch_related("factors").get(pk=model_id)
    config = ModelConfig.of(model)
    with cyclic_gc_paused():
        readings = gather(config, customer_ids=ids, day=day)  # reads before the transaction: no locks held
        results = score_many(config, readings, previous_bands=previous_bands(customer_ids=ids, day=day))
        with transaction.atomic():
            if denormalise:
                _publish_band_changes(results, day=day, ids=ids)
            if only is None:
                HealthSnapshot.objects.filter(date=day, customer_id__gte=lo, customer_id__lte=hi).delete()
            else:
                HealthSnapshot.objects.filter(date=day, customer_id__in=only).delete()
            _insert(results, day=day, model_id=model_id)
            if denormalise:
                if only is None:
                    customers_denormalise(lo=lo, hi=hi)
                else:
                    customers_denormalise(lo=only[0], hi=only[-1], ids=only)
    return len(results)


def _publish_band_changes(results: list[Result], *, day: dt.date, ids: Sequence[int]) -> int:
    """health.band_changed for each customer whose current band (the Customer copy of its latest snapshot)
    this write changes; returns how many. Called in the write's transaction before the copy is refreshed, so
    a re-run of the same day, or the live recompute replacing today's snapshot with the same band, publishes
    nothing: exactly once per change (docs/architecture.md#events). A day older than the customer's latest
    snapshot changes no current band; a first score (no band before) is no change."""
    if not results or not events.has_subscribers("health.band_changed"):
        return 0
    customers, wanted = for_customers(ids, field="pk")
    before = {
        pk: (band, as_of)
        for pk, band, as_of in Customer.objects.filter(customers)
        .values_list("pk", "health_band", "health_as_of")
        .order_by()
        if pk in wanted
    }
    changes = []
    for r in results:
        band, as_of = before.get(r.customer_id, ("", None))
        if not band or not r.band or r.band == band or (as_of is not None and as_of > day):
            continue
        changes.append(
            {
                "customer_id": r.customer_id,
                "day": day.isoformat(),
                "band": r.band,
                "previous_band": band,
                "score": None if r.score is None else float(r.score),
            }
        )
    events.publish_many("health.band_changed", changes)
    return len(changes)


def _insert(rows: list[Result], *, day: dt.date, model_id: int) -> None:
    """COPY on PostgreSQL, one prepared INSERT through executemany elsewhere: a chunk's rows with their JSON
    components go in ~6x (PostgreSQL) / ~3x (SQLite) faster than through bulk_create's big INSERT (and
    without a model instance per row)."""
    now = timezone.now()
    ops = connection.ops
    table = ops.quote_name(HealthSnapshot._meta.db_table)
    columns = "customer_id, date, score, band, model_id, components, computed_at"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(
                        (r.customer_id, day, r.score, r.band, model_id, json.dumps(r.components), now)
                    )
            return
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            [
                (
                    r.customer_id,
                    ops.adapt_datefield_value(day),
                    ops.adapt_decimalfield_value(r.score, 4, 1),
                    r.band,
                    model_id,
                    json.dumps(r.components),
                    ops.adapt_datetimefield_value(now),
                )
                for r in rows
            ],
        )


def customers_denormalise(*, lo: int, hi: int, ids: Sequence[int] | None = None) -> int:
    """Copy each customer's latest snapshot (score, band, date, change over 7 days) onto Customer; returns
    how many customers changed. `ids`: only these customers of lo..hi."""
    if connection.vendor == "postgresql":
        return _denormalise_in_sql(lo=lo, hi=hi, ids=ids)
    only = {"customer_id__in": list(ids)} if ids is not None else {}
    latest = dict(
        HealthSnapshot.objects.filter(customer_id__gte=lo, customer_id__lte=hi, **only)
        .values("customer_id")
        .annotate(last=Max("date"))
        .values_list("customer_id", "last")
        .order_by()
    )
    wanted_days = {d for d in latest.values()} | {d - dt.timedelta(days=7) for d in latest.values()}
    scores: dict[tuple[int, dt.date], tuple[Decimal | None, str]] = {
        (cid, d): (score, band)
        for cid, d, score, band in HealthSnapshot.objects.filter(
            customer_id__gte=lo, customer_id__lte=hi, date__in=wanted_days, **only
        )
        .values_list("customer_id", "date", "score", "band")
        .order_by()
    }
    changed = []
    current = (
        Customer.objects.filter(pk__gte=lo, pk__lte=hi, **({"pk__in": list(ids)} if ids is not None else {}))
        .values_list("pk", "health_score", "health_band", "health_change_7d", "health_as_of")
        .order_by()
    )
    for pk, *old in current:
        day = latest.get(pk)
        score, band = scores.get((pk, day), (None, "")) if day else (None, "")
        week_ago = scores.get((pk, day - dt.timedelta(days=7)), (None, ""))[0] if day else None
        change = score - week_ago if score is not None and week_ago is not None else None
        if [score, band, change, day] != old:
            changed.append((pk, score, band, change, day))
    if changed:
        ops = connection.ops
        table = ops.quote_name(Customer._meta.db_table)
        with connection.cursor() as cursor:
            # One prepared UPDATE per customer through executemany: bulk_update's CASE WHEN over thousands
            # of rows costs ~100x more.
            cursor.executemany(
                f"UPDATE {table} SET health_score = %s, health_band = %s, health_change_7d = %s, "  # noqa: S608
                "health_as_of = %s WHERE id = %s",
                [
                    (
                        ops.adapt_decimalfield_value(score, 4, 1),
                        band,
                        ops.adapt_decimalfield_value(change, 5, 1),
                        ops.adapt_datefield_value(day),
                        pk,
                    )
                    for pk, score, band, change, day in changed
                ],
            )
    return len(changed)


_DENORMALISE_SQL = """
    UPDATE {customer} AS c
    SET health_score = v.score, health_band = v.band, health_change_7d = v.change, health_as_of = v.day
    FROM (
        SELECT k.id, s.score, COALESCE(s.band, '') AS band, s.score - w.score AS change, l.day
        FROM {customer} AS k
        LEFT JOIN (
            SELECT customer_id, MAX(date) AS day FROM {snapshot}
            WHERE customer_id >= %(lo)s AND customer_id <= %(hi)s{only_snapshots} GROUP BY customer_id
        ) AS l ON l.customer_id = k.id
        LEFT JOIN {snapshot} AS s ON s.customer_id = k.id AND s.date = l.day
        LEFT JOIN {snapshot} AS w ON w.customer_id = k.id AND w.date = l.day - 7
        WHERE k.id >= %(lo)s AND k.id <= %(hi)s{only_customers}
    ) AS v
    WHERE c.id = v.id AND c.id >= %(lo)s AND c.id <= %(hi)s AND (
        c.health_score IS DISTINCT FROM v.score OR c.health_band IS DISTINCT FROM v.band
        OR c.health_change_7d IS DISTINCT FROM v.change OR c.health_as_of IS DISTINCT FROM v.day
    )
"""


def _denormalise_in_sql(*, lo: int, hi: int, ids: Sequence[int] | None = None) -> int:
    """customers_denormalise on PostgreSQL: the same reads and comparison as one UPDATE … FROM, so neither the
    snapshots nor the customers travel to Python (numeric arithmetic, as Decimal does; date minus 7 days)."""
    ops = connection.ops
    sql = _DENORMALISE_SQL.format(
        customer=ops.quote_name(Customer._meta.db_table),
        snapshot=ops.quote_name(HealthSnapshot._meta.db_table),
        only_snapshots="" if ids is None else " AND customer_id = ANY(%(ids)s)",
        only_customers="" if ids is None else " AND k.id = ANY(%(ids)s)",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"lo": lo, "hi": hi, "ids": list(ids or [])})
        return cursor.rowcount


def health_recompute_finished(*, day: dt.date) -> None:
    """The hook after a day's recompute: calls each dotted path of settings.CSHUB_AFTER_HEALTH_RECOMPUTE with
    `day=` (settings lists the nightly trigger evaluation there, so metrics needs no import of playbooks)."""
    health_day_recomputed(day=day)
    hooks = getattr(settings, "CSHUB_AFTER_HEALTH_RECOMPUTE", [])
    for path in hooks:
        import_string(path)(day=day)
    # A hook that queues work marks the day done when that work ends (health_day_hooks_done); with none,
    # the day is done now (docs/operations.md#catch-up).
    health_day_hooks_sent(day=day, done=not hooks)


def health_model_current() -> HealthModel:
    """The version in force, creating the default model of docs/health.md if there is none (the data migration
    creates it, but a flushed test database or a truncated table must not break the nightly run)."""
    model = HealthModel.objects.current()
    if model is not None:
        return model
    try:
        with transaction.atomic():
            health_model_create(
                factors=[
                    {"key": key, "weight": w, "bad": bad, "good": good, "enabled": True}
                    for key, w, bad, good in DEFAULT_FACTORS
                ],
                green=DEFAULT_THRESHOLDS[0],
                yellow=DEFAULT_THRESHOLDS[1],
                margin=DEFAULT_THRESHOLDS[2],
                note="Default model (docs/health.md)",
            )
    except IntegrityError:  # created concurrently by another process: use theirs
        pass
    return HealthModel.objects.current()


def health_recompute(
    *,
    day: dt.date,
    chunk_size: int = CHUNK_SIZE,
    model: HealthModel | None = None,
    run_hooks: bool = True,
    denormalise: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> int:
    """Recompute every customer's snapshot for `day` in this process, chunk by chunk (no Celery), then call
    the after-recompute hooks (unless `run_hooks` is off: the demo's history must not start playbooks).
    A backfill may pass denormalise=False for all but its last day and call customers_denormalise after.
    Another recompute of the same day running meanwhile is waited for (`on_wait` is called first)."""
    model = model or health_model_current()
    total = 0
    # Two recomputes of one day at once would insert the same snapshots: the second waits for the first.
    with advisory_lock(f"health-recompute:{day.isoformat()}", on_wait=on_wait):
        for lo, hi in customer_id_chunks(chunk_size=chunk_size):
            total += health_chunk_recompute(day=day, model_id=model.pk, lo=lo, hi=hi, denormalise=denormalise)
        if run_hooks:
            health_recompute_finished(day=day)
    return total


def days_between(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def health_model_create(
    *,
    factors: Sequence[dict[str, Any]],
    green: Decimal,
    yellow: Decimal,
    margin: Decimal,
    note: str = "",
    user: User | None = None,
) -> HealthModel:
    """Save a new model version (the current one is never edited: snapshots keep the version they used).

    `factors`: [{key, weight, bad, good, enabled}]. Permission is the caller's (forms/views check
    accounts.permissions); the version number comes from a locked read so two editors never collide."""
    with transaction.atomic():
        last = HealthModel.objects.select_for_update().order_by("-version").first()
        model = HealthModel.objects.create(
            version=(last.version + 1) if last else 1,
            note=note,
            green_threshold=green,
            yellow_threshold=yellow,
            hysteresis_margin=margin,
            created_by=user,
        )
        HealthFactor.objects.bulk_create(
            HealthFactor(
                model=model,
                key=f["key"],
                weight=f["weight"],
                bad=f["bad"],
                good=f["good"],
                enabled=f["enabled"],
                position=i,
            )
            for i, f in enumerate(factors)
        )
        customers_mark_dirty(customer_ids=None)  # today's health of everyone, by the new version
    return model
