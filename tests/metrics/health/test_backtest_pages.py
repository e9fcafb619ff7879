"""The backtest page, the model page's backtest card and fit button, and the fit's proposal page
(docs/health.md#backtest-page-and-job): managers and admins run a backtest and see its progress, then the
tables and the calibration chart; CSMs only read one already computed; fitting (managers and admins, who
edit the model) opens its proposal in the editor, never saving by itself."""

from __future__ import annotations

import pytest

from metrics.health.backtest_jobs import backtest_job_run
from metrics.models import BacktestKind, HealthBacktestJob, HealthModel, RecomputeState

from .test_backtest import END, START

pytestmark = pytest.mark.django_db

URL = "/health/backtest/"


def query(model) -> dict:
    return {"start": START.isoformat(), "end": END.isoformat(), "model": model.version}


def computed(client, model, capture) -> HealthBacktestJob:
    """A manager's (or admin's) page asks for the backtest; the queued task runs."""
    with capture(execute=True):
        response = client.get(URL, query(model))
    assert response.status_code == 200
    return HealthBacktestJob.objects.get(state=RecomputeState.DONE, model=model)


def test_manager_runs_the_backtest_and_sees_its_progress_then_the_report(
    pulse_population, manager_client, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        page = manager_client.get(URL, query(model)).content.decode()
    job = HealthBacktestJob.objects.get()
    assert 'data-testid="backtest-running"' in page
    assert f'hx-get="{URL}?job={job.pk}"' in page  # the card polls its job
    assert "Waiting for a worker" in page

    callbacks[0]()
    card = manager_client.get(URL, {"job": job.pk}, HTTP_HX_REQUEST="true")
    assert "HX-Request" in card["Vary"]
    html = card.content.decode()
    assert "<html" not in html  # the partial alone
    for table in ("backtest-auc", "backtest-bands", "backtest-calibration", "backtest-factors"):
        assert f'data-testid="{table}"' in html
    assert 'data-testid="calibration-chart"' in html
    assert 'id="calibration-data"' in html
    assert "CSM pulse" in html  # factors by their label
    assert "Compute again" in html
    assert "coin toss" in html  # each figure explained in words


def test_compute_again_posts_a_new_job(pulse_population, manager_client, django_capture_on_commit_callbacks):
    model, _ = pulse_population
    first = computed(manager_client, model, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(URL, query(model))
    second = HealthBacktestJob.objects.exclude(pk=first.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?job={second.pk}"
    assert second.state == RecomputeState.DONE


def test_csm_reads_a_computed_backtest_but_cannot_run_one(
    pulse_population, csm_client, manager_client, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = csm_client.get(URL, query(model)).content.decode()
    assert 'data-testid="backtest-missing"' in page
    assert not callbacks
    assert not HealthBacktestJob.objects.exists()
    assert csm_client.post(URL, query(model)).status_code == 403
    assert not HealthBacktestJob.objects.exists()

    computed(manager_client, model, django_capture_on_commit_callbacks)
    page = csm_client.get(URL, query(model)).content.decode()
    assert 'data-testid="backtest-report"' in page
    assert "Compute again" not in page
    assert 'href="/health/backtest/"' not in csm_client.get("/book/").content.decode()  # not in a CSM's nav


def test_bad_dates_are_form_errors_and_start_nothing(pulse_population, manager_client):
    model, _ = pulse_population
    response = manager_client.get(URL, {"start": END.isoformat(), "end": START.isoformat(), "model": 1})
    assert response.status_code == 400
    assert "Must not be before" in response.content.decode()
    response = manager_client.get(URL, {**query(model), "model": 999})
    assert response.status_code == 400
    assert "field--error" in response.content.decode()
    assert not HealthBacktestJob.objects.exists()


def test_the_page_without_a_question_shows_the_latest_backtest_of_the_version_in_force(
    pulse_population, manager_client, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    page = manager_client.get(URL).content.decode()
    assert 'data-testid="backtest-none"' in page
    computed(manager_client, model, django_capture_on_commit_callbacks)
    page = manager_client.get(URL).content.decode()
    assert 'data-testid="backtest-report"' in page
    assert 'href="/health/backtest/"' in page  # in a manager's nav


def test_backtest_page_query_count_does_not_grow_with_the_report(
    pulse_population, manager_client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    model, _ = pulse_population
    job = computed(manager_client, model, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(12):
        manager_client.get(URL, {"job": job.pk})
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.get(URL, {**query(model), "end": "2026-09-01"})
    longer = HealthBacktestJob.objects.exclude(pk=job.pk).get()
    assert len(longer.result["as_of_dates"]) > len(job.result["as_of_dates"])
    with django_assert_max_num_queries(12):
        manager_client.get(URL, {"job": longer.pk})


def test_a_failed_job_says_why(pulse_population, manager_client, manager):
    model, _ = pulse_population
    job = HealthBacktestJob.objects.create(
        start=START,
        end=END,
        model=model,
        horizons=[30],
        requested_by=manager,
        state=RecomputeState.FAILED,
        error="No progress for 30 minutes: the worker stopped or the queue is stuck.",
    )
    page = manager_client.get(URL, {"job": job.pk}).content.decode()
    assert 'data-testid="backtest-failed"' in page
    assert "No progress for 30 minutes" in page
    assert "Compute again" in page


# --- The model page ---------------------------------------------------------------------------------------


def test_model_page_offers_the_backtest_then_shows_its_figures(
    pulse_population, manager_client, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    page = manager_client.get("/health/model/").content.decode()
    assert 'data-testid="model-backtest-run"' in page
    assert f"model={model.version}" in page
    job = computed(manager_client, model, django_capture_on_commit_callbacks)
    page = manager_client.get("/health/model/").content.decode()
    assert 'data-testid="model-backtest-auc"' in page
    assert f"?job={job.pk}" in page
    assert 'data-testid="model-backtest-run"' not in page


@pytest.mark.parametrize("who", ["manager_client", "admin_client"])
def test_those_who_edit_the_model_have_the_fit_button(request, who, db):
    page = request.getfixturevalue(who).get("/health/model/").content.decode()
    assert 'data-testid="model-fit-button"' in page


def test_csm_cannot_fit(csm_client, admin_user):
    assert csm_client.post("/health/model/fit/").status_code == 403
    job = HealthBacktestJob.objects.create(
        kind=BacktestKind.FIT, start=START, end=END, model=HealthModel.objects.current()
    )
    assert csm_client.get(f"/health/model/fit/{job.pk}/").status_code == 403
    assert csm_client.get("/health/model/", {"fit": job.pk}).status_code == 403


def test_fit_with_too_few_churners_says_so(
    pulse_population, admin_client, django_capture_on_commit_callbacks
):
    versions = HealthModel.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/health/model/fit/")
    job = HealthBacktestJob.objects.get(kind=BacktestKind.FIT)
    assert response.status_code == 302
    assert response["Location"] == f"/health/model/fit/{job.pk}/"
    assert job.state == RecomputeState.FAILED
    page = admin_client.get(response["Location"]).content.decode()
    assert 'data-testid="fit-failed"' in page
    assert "fitting needs at least 30" in page
    assert HealthModel.objects.count() == versions  # nothing saved


def test_a_running_fit_polls(pulse_population, admin_client, admin_user):
    job = HealthBacktestJob.objects.create(
        kind=BacktestKind.FIT,
        start=START,
        end=END,
        model=HealthModel.objects.current(),
        requested_by=admin_user,
    )
    page = admin_client.get(f"/health/model/fit/{job.pk}/").content.decode()
    assert 'data-testid="fit-running"' in page
    assert f'hx-get="/health/model/fit/{job.pk}/"' in page
    assert backtest_job_run(job_id=job.pk) == RecomputeState.FAILED  # four customers: too few churners
