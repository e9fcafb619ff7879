"""Celery tasks for integrations: ids in, a service call, safe to run twice (docs/style.md "Tasks")."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .services import import_job_give_up
from .services import import_job_run as import_job_run_service


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def import_job_run(job_id: int) -> str:
    """A CSV import from the /imports/ page (integrations.services.import_job_run)."""
    try:
        return import_job_run_service(job_id=job_id)
    except SoftTimeLimitExceeded:
        import_job_give_up(
            job_id=job_id,
            message="The import took longer than 8 minutes and was stopped; nothing was written."
            " Split the file and import the parts.",
        )
        return "failed"
