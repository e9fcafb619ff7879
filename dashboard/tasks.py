"""Celery tasks for the dashboard: a service call, safe to run twice (docs/style.md "Tasks")."""

from __future__ import annotations

from celery import shared_task

from .services import home_rollup_refresh


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def home_rollup_refresh_task() -> int:
    """Beat, every minute: the home rollup of today, for the books whose facts changed (all of them on the
    first run of a day). Pages never depend on it for correctness (a changed book is read from the facts);
    it keeps the home page fast (docs/architecture.md#dashboard-rollups)."""
    return home_rollup_refresh()
