"""Publishing the outbox (docs/operations.md#outbox): right after commit, and again from the sweeper.

Publishing is at least once: a process that dies after publishing and before deleting the row publishes the
task again from the sweeper. Every task is safe to run twice (docs/style.md#tasks), so that costs nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

log = logging.getLogger(__name__)

# Left alone this long by the sweeper: the committing process is publishing it right now.
FLUSH_GRACE = dt.timedelta(seconds=30)
FLUSH_BATCH = 1000


def task_named(name: str) -> Task:
    """The registered Celery task called `name` (dotted path of its function); core.enqueue says why."""
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]


@contextmanager
def broker_connection() -> Iterator[Any]:
    """A broker connection that tries once: kombu's default retries a refused connect for seconds, and the
    web must not wait (the broker's socket timeouts bound a hung one, settings.REDIS_TIMEOUT)."""
    options = {**(current_app.conf.broker_transport_options or {}), "max_retries": 0}
    with current_app.connection_for_write(transport_options=options) as connection:
        yield connection


def publish(name: str, args: list[Any], connection: Any) -> None:
    """Send task `name` to the broker once, without Celery's publish retries. `ignore_result`: nobody waits
    for these results, and without it Celery first subscribes to the result in Redis, retrying a lost
    connection 20 times a second apart."""
    task_named(name).apply_async(args=args, retry=False, connection=connection, ignore_result=True)


def outbox_publish_one(pk: int, name: str, args: list[Any]) -> bool:
    """After commit: publish and delete the row; on a broker error keep it for the sweeper (never raise: the
    request has committed and must answer success)."""
    try:
        with broker_connection() as connection:
            publish(name, args, connection)
    except Exception as exc:
        log.warning("broker unavailable, %s(%s) left in the outbox for the sweeper: %s", name, args, exc)
        OutboxMessage.objects.filter(pk=pk).update(attempts=1, last_error=str(exc)[:500])
        return False
    OutboxMessage.objects.filter(pk=pk).delete()
    return True


def outbox_flush(*, now: dt.datetime | None = None, grace: dt.timedelta = FLUSH_GRACE) -> int:
    """Publish what the outbox holds (older than `grace`), oldest first; stops at the first broker error.
    Returns how many were published. Rows are locked SKIP LOCKED, so two sweepers never publish one row."""
    now = now or timezone.now()
    published = 0
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(created_at__lt=now - grace)
            .order_by("pk")[:FLUSH_BATCH]
        )
        done: list[int] = []
        with broker_connection() as connection:
            for row in rows:
                try:
                    publish(row.task, row.args, connection)
                except Exception as exc:
                    log.warning("outbox flush stopped, broker unavailable: %s", exc)
                    OutboxMessage.objects.filter(pk=row.pk).update(
                        attempts=row.attempts + 1, last_error=str(exc)[:500]
                    )
                    break
                done.append(row.pk)
        OutboxMessage.objects.filter(pk__in=done).delete()
        published = len(done)
    return published
