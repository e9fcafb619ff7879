"""The backtest and the fitting as background jobs (docs/health.md#backtest-page-and-job): the backtest page,
the model page and `GET /api/v1/health/backtest/` ask for a report; the answer is a finished job's result,
or a job that computes it.

A job is a HealthBacktestJob row; its task (metrics.tasks.health_backtest_job) runs `run_backtest` (or
`fit_health_model`) once and stores the report as JSON. Asking again for the same question (kind, dates,
version) finds the finished job or the one at work: a partial unique constraint makes concurrent requests
share one job.

Safe to run twice: a task copy claims the job by raising `attempt` (a conditional UPDATE), and writes
progress and the result only while it holds the latest attempt. A redelivered copy (its worker died) takes
over and starts again; an older copy still running loses its claim and its writes change nothing. A job with
no sign of life for STALE_AFTER (its message was lost) is marked failed when someone asks again, and a new one
starts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.visibility import can_edit_configuration, can_run_backtest, can_view_backtest
from metrics.enqueue import health_backtest_job_send

from ..models import BacktestKind, HealthBacktestJob, HealthModel, RecomputeState
from .backtest import DEFAULT_HORIZONS, month_starts, run_backtest
from .preview_jobs import config_from_dict

log = logging.getLogger(__name__)

MAX_MONTHS = 24  # as-of dates in one backtest: 100k customers x 12 dates is the 2-minute target
STALE_AFTER = dt.timedelta(minutes=30)
PROGRESS_EVERY_SECONDS = 1.0
ACTIVE = (RecomputeState.QUEUED, RecomputeState.RUNNING)
FIT_HORIZON = 60  # fitting.DEFAULT_HORIZON, without importing scikit-learn with it


class Refused(Exception):
    """The history cannot answer the question (a fit on too few churners): the message is for the user."""


@dataclass(frozen=True)
class Question:
    """What a backtest (or a fit) is asked for: validated dates and the version."""

    kind: str
    start: dt.date
    end: dt.date
    model: HealthModel


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Twelve month starts ending 90 days before today, so the longest horizon's labels are known."""
    end = (today or timezone.localdate()) - dt.timedelta(days=max(DEFAULT_HORIZONS))
    return month_starts(end - dt.timedelta(days=366), end)[-12], end


def question_validate(
    *, kind: str, start: dt.date | None, end: dt.date | None, version: int | None
) -> Question:
    """The question behind a request: defaults filled in (default_range, the version in force); a
    ValidationError naming the field for `to` before `from`, a range after today, without a 1st of a month
    or over MAX_MONTHS of them, or an unknown version."""
    if start is None or end is None:
        d_start, d_end = default_range()
        start, end = start or d_start, end or d_end
    if end < start:
        raise ValidationError({"to": "Must not be before `from`."})
    if start > timezone.localdate():
        raise ValidationError({"from": "Must not be after today: there is no history yet."})
    dates = month_starts(start, end)
    if not dates:
        raise ValidationError({"from": "The range must contain the 1st of a month (the as-of dates)."})
    if len(dates) > MAX_MONTHS:
        raise ValidationError(
            {"to": f"A backtest spans at most {MAX_MONTHS} month starts ({len(dates)} asked)."}
        )
    models = HealthModel.objects.all()
    model = models.order_by("-version").first() if version is None else models.filter(version=version).first()
    if model is None:
        raise ValidationError({"model": f"No health model version {version}."})
    return Question(kind, start, end, model)


def _same(question: Question) -> Any:
    return HealthBacktestJob.objects.filter(
        kind=question.kind,
        start=question.start,
        end=question.end,
        model=question.model,
        proposal__isnull=True,
    )


def backtest_job_latest(question: Question) -> HealthBacktestJob | None:
    """The latest finished (done) job answering `question`, or None."""
    return (
        _same(question)
        .filter(state=RecomputeState.DONE)
        .select_related("model", "requested_by")
        .order_by("-finished_at")
        .first()
    )


def backtest_job_latest_of_model(*, model: HealthModel) -> HealthBacktestJob | None:
    """The latest finished backtest of `model`, whatever its dates (the model page)."""
    return (
        HealthBacktestJob.objects.filter(
            kind=BacktestKind.BACKTEST, model=model, state=RecomputeState.DONE, proposal__isnull=True
        )
        .select_related("model", "requested_by")
        .order_by("-finished_at")
        .first()
    )


def _check(user: User, kind: str) -> None:
    if kind == BacktestKind.FIT:
        if not can_edit_configuration(user):
            raise PermissionDenied("Only managers and admins fit the health model.")
    elif not can_run_backtest(user):
        raise PermissionDenied("Only managers and admins run a backtest.")


def _fail_if_stale(job: HealthBacktestJob) -> bool:
    """Mark an active job failed when it gave no sign of life for STALE_AFTER; True if it did."""
    seen = job.progress_at or job.started_at or job.created_at
    if timezone.now() - seen < STALE_AFTER:
        return False
    HealthBacktestJob.objects.filter(pk=job.pk, state__in=ACTIVE, attempt=job.attempt).update(
        state=RecomputeState.FAILED,
        error="No progress for 30 minutes: the worker stopped or the queue is stuck.",
        finished_at=timezone.now(),
    )
    return True


def backtest_job_ask(*, user: User, question: Question, refresh: bool = False) -> HealthBacktestJob:
    """The answer to `question`: the latest finished job (unless `refresh`), else the job at work on it,
    else a new job queued for it (managers and admins; a fit: those who edit the model)."""
    if not refresh:
        if not can_view_backtest(user):
            raise PermissionDenied("Sign in to see the backtest.")
        found = backtest_job_latest(question)
        if found is not None:
            return found
    _check(user, question.kind)
    for _ in range(3):
        active = _same(question).filter(state__in=ACTIVE).select_related("model", "requested_by").first()
        if active is not None and not _fail_if_stale(active):
            return active
        try:
            with transaction.atomic():
                job = HealthBacktestJob.objects.create(
                    kind=question.kind,
                    start=question.start,
                    end=question.end,
                    model=question.model,
                    horizons=list(DEFAULT_HORIZONS)
                    if question.kind == BacktestKind.BACKTEST
                    else [FIT_HORIZON],
                    requested_by=user,
                )
                health_backtest_job_send(job_id=job.pk)
            return job
        except IntegrityError:  # a concurrent request created the active job first: share it
            continue
    raise RuntimeError("Could not find or create the backtest job.")  # pragma: no cover - a 3-way race


def backtest_job_for_user(*, user: User, job_id: int) -> HealthBacktestJob:
    """A job by id, with its model and requester (one query); 403 or DoesNotExist."""
    if not can_view_backtest(user):
        raise PermissionDenied("Sign in to see the backtest.")
    job = HealthBacktestJob.objects.select_related("model", "requested_by").get(pk=job_id)
    if job.kind == BacktestKind.FIT and not can_edit_configuration(user):
        raise PermissionDenied("Only managers and admins fit the health model.")
    return job


# --- The task's body ----------------------------------------------------------------------------------------


def backtest_job_run(*, job_id: int) -> str:
    """Claim the job, compute its report, store it (or the error). Returns the job's final state, or
    "superseded" when a later copy of the task took the job over, or the state of a job already ended."""
    now = timezone.now()
    claimed = HealthBacktestJob.objects.filter(pk=job_id, state__in=ACTIVE).update(
        state=RecomputeState.RUNNING, attempt=F("attempt") + 1, started_at=now, progress_at=now, done=0
    )
    job = HealthBacktestJob.objects.select_related("model").filter(pk=job_id).first()
    if job is None:
        return "missing"
    if not claimed:
        return job.state  # done or failed already: a redelivery after the end changes nothing
    mine = HealthBacktestJob.objects.filter(pk=job_id, state=RecomputeState.RUNNING, attempt=job.attempt)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if done < total and time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = time.monotonic()
        mine.update(done=min(done, total), total=total, progress_at=timezone.now())

    # Inside a caller's transaction (an inline run, a test), a savepoint keeps a failure from poisoning it:
    # the backtest's own analytic transactions take no savepoint. Outside one (a worker), none is added, so
    # the backtest may read its dates in parallel on connections of their own.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with guard:
            result = _compute(job, progress)
    except Refused as exc:
        return _end(mine, state=RecomputeState.FAILED, error=str(exc))
    except Exception as exc:
        log.exception("health %s job %s failed", job.kind, job.pk)
        return _end(mine, state=RecomputeState.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
    return _end(mine, state=RecomputeState.DONE, result=result, done=F("total"))


def _compute(job: HealthBacktestJob, progress: Any) -> dict[str, Any]:
    if job.kind == BacktestKind.FIT:
        # Imported here: scikit-learn (docs/health.md#fitting) loads in the worker that fits, not in the web.
        from .fitting import FitError, fit_health_model

        try:
            return fit_health_model(start=job.start, end=job.end, progress=progress).as_dict()
        except FitError as exc:
            raise Refused(str(exc)) from exc
    config = config_from_dict(job.proposal) if job.proposal else None
    report = run_backtest(
        start=job.start,
        end=job.end,
        horizons=tuple(job.horizons or DEFAULT_HORIZONS),
        model_version=job.model.version if job.model else None,
        config=config,
        progress=progress,
    )
    return report.as_dict()


def _end(mine: Any, *, state: str, **fields: Any) -> str:
    now = timezone.now()
    written = mine.update(state=state, finished_at=now, progress_at=now, **fields)
    return state if written else "superseded"
