"""Celery tasks for metrics: ids and dates in, a service call, safe to run twice (docs/style.md "Tasks")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import chord, shared_task
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from . import partitions
from .forecast.snapshots import forecast_snapshot_take
from .health.backtest_jobs import backtest_job_run
from .health.live import health_live_recompute

# --- Health (docs/health.md) -------------------------------------------------------------------------------
from .health.nightly import catch_up_action, health_day_dispatched
from .health.preview_jobs import preview_run
from .health.recompute_jobs import recompute_job_run
from .health.services import (
    CHUNK_SIZE,
    customer_id_chunks,
    health_chunk_recompute,
    health_model_current,
    health_recompute_finished,
)
from .revenue import revenue_rollup_refresh

# OperationalError: a dropped connection or a deadlock; IntegrityError: the same chunk written concurrently
# by a redelivered copy of this task (the unique (customer, date) constraint refused the second insert).
HEALTH_TRANSIENT = (OperationalError, IntegrityError)


@shared_task(acks_late=True)
def health_recompute_nightly() -> str:
    """Beat, 02:00 TIME_ZONE: recompute the day that just ended (complete data), fanned out in chunks."""
    day = timezone.localdate() - dt.timedelta(days=1)
    health_recompute_day.delay(day.isoformat())
    return day.isoformat()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def health_recompute_day(day: str, model_id: int | None = None, chunk_size: int = CHUNK_SIZE) -> str:
    """Fan a day's recompute out as a chord: one task per chunk of customers, then the finish hook."""
    return health_recompute_dispatch(day, model_id=model_id, chunk_size=chunk_size).id


def health_recompute_dispatch(day: str, *, model_id: int | None = None, chunk_size: int = CHUNK_SIZE) -> Any:
    """Send the chord (chunk tasks, then health_recompute_finish); returns the finish task's AsyncResult."""
    if model_id is None:
        model_id = health_model_current().pk
    health_day_dispatched(day=dt.date.fromisoformat(day))
    header = [
        health_recompute_chunk.si(day, model_id, lo, hi)
        for lo, hi in customer_id_chunks(chunk_size=chunk_size)
    ]
    if not header:
        return health_recompute_finish.delay([], day)
    return chord(header)(health_recompute_finish.s(day))


@shared_task(
    acks_late=True,  # a worker killed mid-chunk leaves the message to be redelivered (reject_on_worker_lost)
    autoretry_for=HEALTH_TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=480,
    time_limit=540,
)
def health_recompute_chunk(day: str, model_id: int, lo: int, hi: int) -> int:
    """Replace `day`'s snapshots of customers lo..hi (one transaction) and refresh their Customer fields."""
    return health_chunk_recompute(day=dt.date.fromisoformat(day), model_id=model_id, lo=lo, hi=hi)


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def health_recompute_finish(counts: list[int], day: str) -> int:
    """After every chunk: the hooks of settings.CSHUB_AFTER_HEALTH_RECOMPUTE (trigger evaluation)."""
    health_recompute_finished(day=dt.date.fromisoformat(day))
    return sum(counts or [])


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def health_catch_up() -> str:
    """Beat, every 15 minutes: finish the last night's recompute or its hooks if they stopped part way
    (beat could not send the job, a worker died with chunks in flight, the evaluation failed for good);
    metrics.health.nightly says when. Returns what it did and for which day."""
    action, day = catch_up_action()
    if action == "recompute":
        health_recompute_day.delay(day.isoformat())
    elif action == "hooks":
        health_recompute_finished(day=day)
    return f"{action} {day.isoformat()}"


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360, ignore_result=True)  # nobody reads it
def health_recompute_live() -> int:
    """Queued a few seconds after writes that mark customers dirty, and beat's sweep every minute: today's
    health of the dirty customers, then their live triggers (metrics.health.live). Queues its continuation
    when a large marking (a new model version) takes longer than one pass."""
    done = health_live_recompute()
    if done.more:
        health_recompute_live.delay()
    return done.customers


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def health_recompute_job(job_id: int) -> str:
    """An admin's recompute of a range of days (metrics.health.recompute_jobs): its next days for about five
    minutes, then it queues itself for the rest. Resumes from the job's progress if redelivered."""
    return recompute_job_run(job_id=job_id)


@shared_task(acks_late=False, soft_time_limit=1800, time_limit=1900)
def health_backtest_job(job_id: int) -> str:
    """A backtest or a fit for the backtest page and API (metrics.health.backtest_jobs): computes the report
    and stores it on the job. A redelivered copy takes the job over; an ended job is left as it is.

    Acknowledged on receipt (not late): a fresh read of a large history may run longer than the broker's
    visibility timeout (docs/operations.md#failure-rules), and a late ack would have it redelivered while it
    still runs. A job whose worker died shows no progress for 30 minutes and is started again when someone
    asks (docs/health.md#backtest-page-and-job)."""
    return backtest_job_run(job_id=job_id)


@shared_task(soft_time_limit=480, time_limit=540)
def health_model_preview_run(key: str, current: dict[str, Any], proposal: dict[str, Any]) -> str:
    """The model editor's preview (metrics.health.preview_jobs): both models scored on today's data."""
    return preview_run(key=key, current=current, proposal=proposal)


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def first_utilization_refresh() -> int:
    """Beat, every 15 minutes: recompute the stored first 10 % utilization days that usage or a customer's
    licenses made stale (metrics.services.first_utilization_refresh). Readers never depend on it for
    correctness (stale rows are walked); it keeps the team page's time to value fast."""
    from .services import first_utilization_refresh as refresh

    return refresh()


# --- Raw usage events (docs/operations.md#usage-partitions) -----------------------------------------


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def usage_partitions_maintain() -> dict[str, int]:
    """Beat, nightly 03:30 TIME_ZONE: the coming months' usage partitions, and raw events past
    CSHUB_RAW_EVENT_DAYS archived (metrics.partitions). Safe to run twice."""
    result = partitions.usage_partitions_maintain(
        today=timezone.localdate(), archive_dir=partitions.configured_archive_dir()
    )
    return {"created": len(result.created), "archived": len(result.archived), "deleted": result.rows_deleted}


# --- Renewals forecast (docs/renewals.md#weekly-snapshots) ------------------------------------------


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def renewal_forecast_snapshot(day: str | None = None) -> int:
    """Beat, Mondays 03:00 TIME_ZONE: the week's snapshot of every renewal's forecast (replaced if re-run)."""
    return forecast_snapshot_take(day=dt.date.fromisoformat(day) if day else timezone.localdate())


# --- Revenue rollup (docs/metrics.md#revenue-rollup) ------------------------------------------------------


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def revenue_rollup_refresh_task() -> int:
    """Beat, every minute: the revenue rollup of the customers marked changed (all of them on its first run).
    Readers never depend on it for correctness (a marked customer is read from the ledger); it keeps calendar
    periods fast."""
    return revenue_rollup_refresh()
