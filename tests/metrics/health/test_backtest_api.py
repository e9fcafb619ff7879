"""GET /api/v1/health/backtest/ and GET /api/v1/health/backtest/jobs/<id>/ (docs/api.md#backtest): a finished
report answers 200 with when it was computed; otherwise a background job starts (or the one at work is
found) and the answer is 202 with the URL to poll. Managers and admins run it; CSMs may only read a report
already computed. Bad parameters are a 400 naming the field, and nothing is queued."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from metrics.health.backtest import run_backtest
from metrics.models import BacktestKind, HealthBacktestJob
from tests.factories import CustomerFactory

from .test_backtest import END, START, ledger, pulses

pytestmark = pytest.mark.django_db

URL = "/api/v1/health/backtest/"
D = dt.date


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def params(model, **more) -> dict:
    return {"from": START.isoformat(), "to": END.isoformat(), "model": model.version, **more}


def ask(client, capture, *, run: bool, **query):
    """GET the backtest; the task queued on commit runs (`run`) or stays queued."""
    with capture(execute=run) as callbacks:
        response = client.get(URL, query)
    return response, callbacks


def compute(client, capture, **query) -> dict:
    """Ask, let the queued task run, and answer the finished job as its poll URL gives it."""
    response, _ = ask(client, capture, run=True, **query)
    assert response.status_code == 202, response.json()
    polled = client.get(response.json()["poll"])
    assert polled.status_code == 200
    return polled.json()


def test_first_ask_is_a_202_with_a_poll_url_then_the_report(
    pulse_population, manager, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    client = api(manager)
    response, callbacks = ask(client, django_capture_on_commit_callbacks, run=False, **params(model))
    assert response.status_code == 202
    queued = response.json()
    assert queued["state"] == "queued"
    assert (queued["from"], queued["to"], queued["model_version"]) == (
        START.isoformat(),
        END.isoformat(),
        model.version,
    )
    assert queued["report"] is None
    assert queued["computed_at"] is None
    assert queued["requested_by"] == manager.email
    assert queued["poll"].endswith(f"/api/v1/health/backtest/jobs/{queued['id']}/")
    assert len(callbacks) == 1

    # Asking again while it is queued finds the same job: nothing new is queued.
    again, more = ask(client, django_capture_on_commit_callbacks, run=False, **params(model))
    assert again.status_code == 202
    assert again.json()["id"] == queued["id"]
    assert not more
    assert HealthBacktestJob.objects.count() == 1

    callbacks[0]()  # the worker runs the task (eager here)
    polled = client.get(queued["poll"])
    assert polled.status_code == 200
    body = polled.json()
    assert body["state"] == "done"
    assert body["done"] == body["total"] > 0
    expected = run_backtest(start=START, end=END, model_version=model.version).as_dict()
    assert body["report"] == expected
    assert body["computed_at"]

    # Now the report is there: the endpoint answers it at once, saying when it was computed.
    cached, none = ask(client, django_capture_on_commit_callbacks, run=True, **params(model))
    assert cached.status_code == 200
    assert cached.json()["id"] == queued["id"]
    assert cached.json()["computed_at"] == body["computed_at"]
    assert cached.json()["report"]["horizons"][0]["auc"] == expected["horizons"][0]["auc"]
    assert not none


def test_refresh_computes_again(pulse_population, admin_user, django_capture_on_commit_callbacks):
    model, _ = pulse_population
    client = api(admin_user)
    first = compute(client, django_capture_on_commit_callbacks, **params(model))
    # New history: a customer paying since 2025 and churning in February changes the figures.
    late = CustomerFactory(name="Late")
    ledger(late, (D(2025, 6, 1), 100), (D(2026, 2, 10), 0))
    pulses(late, 2)
    cached, _ = ask(client, django_capture_on_commit_callbacks, run=True, **params(model))
    assert cached.status_code == 200
    assert cached.json()["id"] == first["id"]
    assert cached.json()["report"] == first["report"]
    fresh = compute(client, django_capture_on_commit_callbacks, **params(model, refresh=1))
    assert fresh["id"] != first["id"]
    assert fresh["report"]["horizons"][0]["rows"] > first["report"]["horizons"][0]["rows"]
    # The plain ask now answers the newest report.
    latest, _ = ask(client, django_capture_on_commit_callbacks, run=True, **params(model))
    assert latest.json()["id"] == fresh["id"]


def test_defaults_are_the_version_in_force_and_twelve_month_starts(
    pulse_population, manager, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    response, _ = ask(api(manager), django_capture_on_commit_callbacks, run=False)
    assert response.status_code == 202
    job = HealthBacktestJob.objects.get(pk=response.json()["id"])
    assert job.model == model  # the newest version, the one in force
    assert job.start.day == 1
    assert (job.end.year - job.start.year) * 12 + job.end.month - job.start.month == 11


def test_csm_reads_a_computed_report_but_cannot_run_one(
    pulse_population, csm, manager, django_capture_on_commit_callbacks
):
    model, _ = pulse_population
    client = api(csm)
    refused, callbacks = ask(client, django_capture_on_commit_callbacks, run=True, **params(model))
    assert refused.status_code == 403
    assert not callbacks
    assert not HealthBacktestJob.objects.exists()

    done = compute(api(manager), django_capture_on_commit_callbacks, **params(model))
    read, _ = ask(client, django_capture_on_commit_callbacks, run=True, **params(model))
    assert read.status_code == 200
    assert read.json()["id"] == done["id"]
    assert client.get(done["poll"]).status_code == 200
    again, callbacks = ask(client, django_capture_on_commit_callbacks, run=True, **params(model, refresh=1))
    assert again.status_code == 403
    assert not callbacks
    assert HealthBacktestJob.objects.count() == 1


def test_anonymous_is_refused(pulse_population):
    model, _ = pulse_population
    assert api().get(URL, params(model)).status_code in (401, 403)
    assert not HealthBacktestJob.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-02-31", "to": "2026-03-01"}, "from"),
        ({"from": "2026-01-01", "to": "March"}, "to"),
        ({"from": "2026-03-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-01-02", "to": "2026-01-30"}, "from"),  # no 1st of a month
        ({"from": "2023-01-01", "to": "2026-01-01"}, "to"),  # 37 month starts
        ({"from": "2099-01-01", "to": "2099-02-01"}, "from"),  # after today
        ({"from": "2026-01-01", "to": "2026-03-01", "model": "999"}, "model"),
        ({"from": "2026-01-01", "to": "2026-03-01", "model": "v2"}, "model"),
        ({"from": "2026-01-01", "to": "2026-03-01", "refresh": "maybe"}, "refresh"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(
    pulse_population, manager, query, field, django_capture_on_commit_callbacks
):
    response, callbacks = ask(api(manager), django_capture_on_commit_callbacks, run=True, **query)
    assert response.status_code == 400
    assert field in response.json()
    assert not callbacks
    assert not HealthBacktestJob.objects.exists()


def test_unknown_job_is_a_404(manager):
    assert api(manager).get(f"{URL}jobs/12345/").status_code == 404


def test_query_counts_do_not_grow_with_the_report_or_the_jobs(
    pulse_population, manager, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    model, _ = pulse_population
    client = api(manager)
    job_id = compute(client, django_capture_on_commit_callbacks, **params(model))["id"]
    with django_assert_max_num_queries(3):
        assert client.get(URL, params(model)).status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get(f"{URL}jobs/{job_id}/").status_code == 200
    # More jobs, and a bigger report: the same counts.
    for _ in range(5):
        compute(client, django_capture_on_commit_callbacks, **params(model, refresh=1))
    compute(client, django_capture_on_commit_callbacks, **params(model, to="2026-06-01"))
    with django_assert_max_num_queries(3):
        assert client.get(URL, params(model)).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(URL, params(model, to="2026-06-01")).status_code == 200


def test_schema_documents_the_endpoints(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/health/backtest/" in schema
    assert "/api/v1/health/backtest/jobs/{job_id}/" in schema
    assert "refresh" in schema


def test_a_fit_job_is_for_those_who_edit_the_model(pulse_population, csm, manager):
    model, _ = pulse_population
    job = HealthBacktestJob.objects.create(kind=BacktestKind.FIT, start=START, end=END, model=model)
    assert api(csm).get(f"{URL}jobs/{job.pk}/").status_code == 403
    answer = api(manager).get(f"{URL}jobs/{job.pk}/")
    assert answer.status_code == 202
    assert answer.json()["kind"] == "fit"
