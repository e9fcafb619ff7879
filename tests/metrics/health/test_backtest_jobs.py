"""The backtest and fit jobs (metrics/health/backtest_jobs.py, docs/health.md#backtest-page-and-job): the
report stored is run_backtest's, progress reaches its total, a redelivered task changes nothing once the job
ended and takes over a job whose worker died, an error leaves a failed job saying why, a job that gives no
sign of life is replaced; a fit's proposal opens in the editor without saving anything. The last test runs
the job on a real Celery worker."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.health.backtest import run_backtest
from metrics.health.backtest_jobs import (
    STALE_AFTER,
    Question,
    backtest_job_ask,
    backtest_job_run,
)
from metrics.health.fitting import fit_health_model
from metrics.health.services import health_model_current
from metrics.models import BacktestKind, HealthBacktestJob, HealthModel, RecomputeState

from .test_backtest import END, START
from .test_fitting import build
from .test_worker import celery_worker  # noqa: F401 - the real worker (Redis, PostgreSQL)

pytestmark = pytest.mark.django_db


def new_job(model, **fields) -> HealthBacktestJob:
    return HealthBacktestJob.objects.create(
        start=START, end=END, model=model, horizons=[30, 60, 90], **fields
    )


def test_the_job_stores_the_report_and_its_progress(pulse_population):
    model, _ = pulse_population
    job = new_job(model)
    assert backtest_job_run(job_id=job.pk) == RecomputeState.DONE
    job.refresh_from_db()
    assert job.result == run_backtest(start=START, end=END, model_version=model.version).as_dict()
    assert job.done == job.total > 0  # run_backtest's steps, all done
    assert (job.attempt, job.error) == (1, "")
    assert job.started_at <= job.progress_at <= job.finished_at


def test_a_redelivered_task_leaves_an_ended_job_as_it_is(pulse_population):
    model, _ = pulse_population
    job = new_job(model)
    backtest_job_run(job_id=job.pk)
    before = HealthBacktestJob.objects.values().get(pk=job.pk)
    assert backtest_job_run(job_id=job.pk) == RecomputeState.DONE
    assert HealthBacktestJob.objects.values().get(pk=job.pk) == before
    failed = new_job(model, state=RecomputeState.FAILED, error="gone")
    assert backtest_job_run(job_id=failed.pk) == RecomputeState.FAILED
    assert backtest_job_run(job_id=123456) == "missing"


def test_a_redelivered_task_takes_over_a_job_whose_worker_died(pulse_population):
    model, _ = pulse_population
    died = timezone.now() - dt.timedelta(minutes=5)
    job = new_job(model, state=RecomputeState.RUNNING, attempt=1, done=2, total=4, started_at=died)
    assert backtest_job_run(job_id=job.pk) == RecomputeState.DONE
    job.refresh_from_db()
    assert job.attempt == 2
    assert job.started_at > died
    assert job.result["horizons"][0]["rows"] == 11  # four customers on three month starts, B gone by March


@pytest.mark.usefixtures("pulse_population")
def test_an_error_leaves_a_failed_job_saying_why():
    broken = {"factors": [{"key": "no_such_factor", "weight": 1.0, "bad": 0.0, "good": 1.0, "enabled": True}]}
    job = HealthBacktestJob.objects.create(start=START, end=END, model=None, proposal=broken, horizons=[30])
    assert backtest_job_run(job_id=job.pk) == RecomputeState.FAILED
    job.refresh_from_db()
    assert job.state == RecomputeState.FAILED
    assert job.error  # the exception's type and message
    assert job.result is None
    assert job.finished_at is not None


def test_a_job_without_a_sign_of_life_is_replaced(
    pulse_population, manager, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    question = Question(BacktestKind.BACKTEST, START, END, model)
    lost = new_job(model, state=RecomputeState.RUNNING, attempt=1, total=4)
    HealthBacktestJob.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - STALE_AFTER * 2, progress_at=timezone.now() - STALE_AFTER * 2
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = backtest_job_ask(user=manager, question=question)
    assert job.pk != lost.pk
    assert len(callbacks) == 1
    lost.refresh_from_db()
    assert lost.state == RecomputeState.FAILED
    assert "No progress for 30 minutes" in lost.error
    # A job at work that does give signs of life is shared, not replaced.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert backtest_job_ask(user=manager, question=question).pk == job.pk
    assert not callbacks


def test_a_fit_proposal_opens_in_the_editor_and_saves_nothing(
    admin_client, django_capture_on_commit_callbacks
):
    current = health_model_current()  # the default model, as test_fitting's population has it
    assert build(150) >= 30
    versions = HealthModel.objects.count()
    fitted_range = (START, dt.date(2026, 6, 1))
    job = HealthBacktestJob.objects.create(
        kind=BacktestKind.FIT, start=fitted_range[0], end=fitted_range[1], model=current
    )
    assert backtest_job_run(job_id=job.pk) == RecomputeState.DONE
    job.refresh_from_db()
    expected = fit_health_model(start=fitted_range[0], end=fitted_range[1])
    assert job.result["model"] == expected.as_dict()["model"]
    assert job.result["cv_auc"] == expected.cv_auc

    page = admin_client.get(f"/health/model/fit/{job.pk}/").content.decode()
    assert 'data-testid="fit-proposal"' in page
    assert 'data-testid="fit-cv-auc"' in page
    assert f"{expected.cv_auc:.2f}" in page
    assert f"/health/model/?fit={job.pk}" in page
    assert 'data-testid="fit-bands"' in page  # the proposal's band thresholds beside the current ones

    editor = admin_client.get("/health/model/", {"fit": job.pk}).content.decode()
    assert 'data-testid="fit-loaded"' in editor
    pulse = next(f for f in expected.config.factors if f.key == "pulse")
    assert f'name="pulse-weight" value="{pulse.weight:g}"' in editor or (
        f'name="pulse-weight" value="{pulse.weight}"' in editor
    )
    assert "Fitted on 2026-01-01\u20132026-06-01" in editor
    assert HealthModel.objects.count() == versions  # a proposal is never saved by itself
    assert admin_client.get("/health/model/", {"fit": 999999}).status_code == 404


# --- On a real Celery worker -------------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_the_api_job_runs_on_the_worker(pulse_population, manager):
    model, _ = pulse_population
    client = APIClient()
    client.force_authenticate(manager)
    query = {"from": START.isoformat(), "to": END.isoformat(), "model": model.version}
    first = client.get("/api/v1/health/backtest/", query)
    assert first.status_code == 202
    poll = first.json()["poll"]
    deadline = time.monotonic() + 60
    body = first.json()
    while body["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        body = client.get(poll).json()
    assert body["state"] == "done", body
    assert body["done"] == body["total"] > 0
    assert body["report"] == run_backtest(start=START, end=END, model_version=model.version).as_dict()
    assert client.get("/api/v1/health/backtest/", query).status_code == 200
    assert HealthBacktestJob.objects.get().attempt == 1


def test_the_web_and_the_tasks_do_not_load_scikit_learn():
    """Fitting imports scikit-learn where it runs (docs/health.md#fitting): the URLs (every view and API)
    and the tasks module load without it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django, sys; django.setup(); "
        "from django.urls import get_resolver; get_resolver().url_patterns; import metrics.tasks; "
        "print('sklearn' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cshub.settings", "DEBUG": "1"}
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "False"
