"""Celery tasks of core: the outbox sweeper (docs/operations.md#outbox)."""

from __future__ import annotations

from celery import shared_task

from .outbox import outbox_flush as outbox_flush_service


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def outbox_flush() -> int:
    """Beat, every minute: publish the tasks whose publish after commit failed (broker down or hung)."""
    return outbox_flush_service()
