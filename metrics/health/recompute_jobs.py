"""An admin's recompute of a range of days as a background job (`POST /api/v1/health/recompute/`).

The job is a HealthRecomputeJob row. The task (metrics.tasks.health_recompute_job) computes its days in date
order with services.health_recompute, one day at a time, as `manage.py recompute_health --from --to` does (so
each day's hysteresis sees the day before it, and the after-recompute hooks run for each day), with the model
version in force when the job started.

Safe to run twice: each finished day is claimed with a conditional UPDATE on `days_done`, so a second copy of
the task (a redelivery after a worker died) recomputes at most the day in progress, which is idempotent, and
stops when it loses the claim. A task works for about SLICE_SECONDS, then queues its continuation: every task
stays well inside Celery's time limits, whatever the length of the range.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.visibility import is_admin
from metrics.enqueue import health_recompute_job_send

from ..models import HealthRecomputeJob, RecomputeState
from .services import health_model_current, health_recompute

log = logging.getLogger(__name__)

MAX_RECOMPUTE_DAYS = 366
SLICE_SECONDS = 300


def recompute_job_start(*, user: User, start: dt.date, end: dt.date) -> HealthRecomputeJob:
    """Queue the recompute of `start`..`end` (admins; at most MAX_RECOMPUTE_DAYS days, none after today)."""
    if not is_admin(user):
        raise PermissionDenied("Only admins may recompute health.")
    if end < start:
        raise ValidationError({"to": "Must not be before `from`."})
    if end > timezone.localdate():
        raise ValidationError({"to": "Must not be after today: a later day has no data yet."})
    days = (end - start).days + 1
    if days > MAX_RECOMPUTE_DAYS:
        raise ValidationError(
            {"to": f"A recompute may span at most {MAX_RECOMPUTE_DAYS} days ({days} asked)."}
        )
    with transaction.atomic():
        job = HealthRecomputeJob.objects.create(start=start, end=end, days_total=days, requested_by=user)
        health_recompute_job_send(job_id=job.pk)
    return job


def recompute_job(*, job_id: int) -> HealthRecomputeJob:
    """The job with its model and requester (one query); HealthRecomputeJob.DoesNotExist if unknown."""
    return HealthRecomputeJob.objects.select_related("model", "requested_by").get(pk=job_id)


def recompute_job_run(*, job_id: int, slice_seconds: float = SLICE_SECONDS) -> str:
    """The task's body: compute the job's next days for about `slice_seconds`, then queue the rest; returns
    the job's state (or "continued"/"superseded")."""
    jobs = HealthRecomputeJob.objects.filter(pk=job_id)
    if jobs.filter(state=RecomputeState.QUEUED).exists():
        jobs.filter(state=RecomputeState.QUEUED).update(
            state=RecomputeState.RUNNING, started_at=timezone.now(), model=health_model_current()
        )
    job = jobs.select_related("model").first()
    if job is None or job.state != RecomputeState.RUNNING:
        return job.state if job else "missing"
    began = time.monotonic()
    try:
        while job.days_done < job.days_total:
            day = job.start + dt.timedelta(days=job.days_done)
            count = health_recompute(day=day, model=job.model)
            claimed = jobs.filter(state=RecomputeState.RUNNING, days_done=job.days_done).update(
                days_done=F("days_done") + 1, snapshots=F("snapshots") + count
            )
            if not claimed:  # another copy of this task finished the day first: it carries on
                return "superseded"
            job.days_done += 1
            if job.days_done < job.days_total and time.monotonic() - began > slice_seconds:
                health_recompute_job_send(job_id=job.pk)  # at least one day per task: always progress
                return "continued"
    except Exception as exc:
        log.exception("health recompute job %s failed on day %s", job.pk, job.days_done + 1)
        jobs.filter(state=RecomputeState.RUNNING).update(
            state=RecomputeState.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return RecomputeState.FAILED
    jobs.filter(state=RecomputeState.RUNNING).update(state=RecomputeState.DONE, finished_at=timezone.now())
    return RecomputeState.DONE
