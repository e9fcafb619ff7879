"""Celery tasks for playbooks: ids and dates in, a service call, safe to run twice (docs/style.md "Tasks")."""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from metrics.health.nightly import health_day_hooks_done

from .evaluation import triggers_evaluate
from .services import digest_recipients
from .services import runs_notify as runs_notify_service

TRANSIENT = (smtplib.SMTPException, ConnectionError, TimeoutError)
DATABASE_TRANSIENT = (OperationalError, InterfaceError)  # dropped connection, restart, deadlock
# The emails about new runs (runs_notify, runs_notify_many): retried through SMTP and network trouble.
NOTIFY_TASK = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 300,  # below the broker visibility_timeout (settings)
    "max_retries": 8,
    "soft_time_limit": 120,
    "time_limit": 180,
    "ignore_result": True,  # nobody reads it
}


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def evaluate_fast() -> int:
    """Every 5 minutes: new survey answers and new customers; then assignee reconciliation."""
    return triggers_evaluate(speed="fast").total_started


@shared_task(
    acks_late=True,
    autoretry_for=DATABASE_TRANSIENT,  # a database restart or failover must not lose the night's evaluation
    retry_backoff=True,  # 1, 2, 4 … 32 s: about a minute of outage is ridden out
    retry_jitter=False,
    retry_backoff_max=300,
    max_retries=6,
    soft_time_limit=480,
    time_limit=540,
)
def evaluate_day(day: str | None = None) -> int:
    """Every condition for `day` (ISO date; default today): the nightly evaluation. Marks the day's nightly
    run done (docs/operations.md#catch-up); re-running it is exact."""
    started = triggers_evaluate(speed="all", today=dt.date.fromisoformat(day) if day else None).total_started
    if day:
        health_day_hooks_done(day=dt.date.fromisoformat(day))
    return started


def after_health_recompute(*, day: dt.date) -> None:
    """settings.CSHUB_AFTER_HEALTH_RECOMPUTE hook: evaluate every trigger for the day just recomputed."""
    evaluate_day.delay(day.isoformat())


@shared_task(**NOTIFY_TASK)
def runs_notify(assignee_id: int, run_ids: list[int]) -> int:
    """Email one assignee about new runs (those not already notified)."""
    return runs_notify_service(assignee_id=assignee_id, run_ids=run_ids)


@shared_task(**NOTIFY_TASK)
def runs_notify_many(by_assignee: list[list]) -> int:
    """Email several assignees about their new runs, one email each ([[assignee id, [run ids]], ...]): the
    runs one evaluation started for several people, in one task rather than one each. Each assignee's
    email is sent and marked in its own transaction, so a retry after a failure part way tells only the
    assignees not yet told (docs/playbooks.md#live-evaluation)."""
    return sum(runs_notify_service(assignee_id=int(a), run_ids=list(ids)) for a, ids in by_assignee)


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def digests_send() -> int:
    """Daily: one digest email per user who chose the digest and has runs they were not told about."""
    for assignee_id in digest_recipients():
        digest_notify.delay(assignee_id)
    return 0


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=8,
    soft_time_limit=120,
    time_limit=180,
)
def digest_notify(assignee_id: int) -> int:
    return runs_notify_service(assignee_id=assignee_id, digest=True)
