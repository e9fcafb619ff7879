"""POST /api/v1/health/recompute/ and GET /api/v1/health/recompute/<id>/ (docs/api.md#health): admins queue
a recompute of a range of days, run by a Celery task (eager in tests) through the same per-day recompute as
`recompute_health --from --to`; its state and progress live in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.health import recompute_jobs
from metrics.health.recompute_jobs import recompute_job_run
from metrics.health.services import health_model_current
from metrics.models import HealthRecomputeJob, HealthSnapshot
from tests.factories import CustomerFactory, PulseFactory, TouchpointFactory

from .conftest import DAY, at, days_ago, usage

pytestmark = pytest.mark.django_db

URL = "/api/v1/health/recompute/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def snapshot_rows() -> list[tuple]:
    return list(
        HealthSnapshot.objects.order_by("customer_id", "date").values_list(
            "customer_id", "date", "score", "band", "model__version", "components"
        )
    )


@pytest.fixture
def book():
    healthy = CustomerFactory(name="Healthy", licenses=10)
    quiet = CustomerFactory(name="Quiet", licenses=10)
    for d in range(0, 40, 2):
        usage(healthy, users=8, day=days_ago(d))
    usage(quiet, users=1, day=days_ago(20))
    PulseFactory(customer=healthy, score=5, created_at=at(days_ago(5)))
    TouchpointFactory(customer=healthy, occurred_at=at(days_ago(5)))
    return healthy, quiet


def start(client, start: dt.date, end: dt.date, capture):
    with capture(execute=True):
        return client.post(URL, {"from": start.isoformat(), "to": end.isoformat()}, format="json")


def test_admin_recompute_runs_every_day_like_the_command(
    book, admin_user, django_capture_on_commit_callbacks
):
    client = api(admin_user)
    response = start(client, days_ago(2), DAY, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    queued = response.json()
    assert queued["state"] == "queued"  # answered before the commit that queues the task
    assert queued["from"] == days_ago(2).isoformat()
    assert queued["to"] == DAY.isoformat()
    assert (queued["days_done"], queued["days_total"]) == (0, 3)
    assert queued["requested_by"] == admin_user.email

    job = client.get(f"{URL}{queued['id']}/").json()
    assert job["state"] == "done"
    assert (job["days_done"], job["days_total"], job["snapshots"]) == (3, 3, 6)
    assert job["model_version"] == health_model_current().version
    assert job["started_at"]
    assert job["finished_at"]
    assert job["error"] == ""
    for day in (days_ago(2), days_ago(1), DAY):
        assert HealthSnapshot.objects.filter(date=day).count() == 2

    by_the_api = snapshot_rows()
    HealthSnapshot.objects.all().delete()
    call_command("recompute_health", "--from", days_ago(2).isoformat(), "--to", DAY.isoformat(), stdout=None)
    assert snapshot_rows() == by_the_api


def test_job_answer_shape_and_query_count(
    book, admin_user, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = api(admin_user)
    job_id = start(client, DAY, DAY, django_capture_on_commit_callbacks).json()["id"]
    with django_assert_num_queries(1):
        body = client.get(f"{URL}{job_id}/").json()
    assert set(body) == {
        "id",
        "from",
        "to",
        "state",
        "days_done",
        "days_total",
        "snapshots",
        "model_version",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "error",
    }


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_non_admins_are_refused(request, who, admin_user):
    client = api(request.getfixturevalue(who))
    response = client.post(URL, {"from": DAY.isoformat(), "to": DAY.isoformat()}, format="json")
    assert response.status_code == 403
    job = HealthRecomputeJob.objects.create(start=DAY, end=DAY, days_total=1, requested_by=admin_user)
    assert client.get(f"{URL}{job.pk}/").status_code == 403
    assert HealthRecomputeJob.objects.count() == 1
    assert api().post(URL, {}, format="json").status_code in (401, 403)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": "2026-06-30"}, "from"),
        ({"from": "2026-06-30"}, "to"),
        ({"from": "2026-06-31", "to": "2026-06-30"}, "from"),
        ({"from": "2026-06-30", "to": "2026-06-29"}, "to"),
        ({"from": "2025-06-29", "to": "2026-06-30"}, "to"),  # 367 days
        ({"from": "2026-06-30", "to": "2099-01-01"}, "to"),  # after today
    ],
)
def test_bad_ranges_are_a_400_naming_the_field(
    admin_user, payload, field, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api(admin_user).post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not callbacks
    assert not HealthRecomputeJob.objects.exists()


def test_the_longest_range_is_accepted(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(admin_user).post(URL, {"from": "2025-06-30", "to": "2026-06-30"}, format="json")
    assert response.status_code == 202
    assert response.json()["days_total"] == 366
    assert len(callbacks) == 1  # queued after commit (not run here)


def test_unknown_job_is_404(admin_user):
    assert api(admin_user).get(f"{URL}999999/").status_code == 404


def test_a_redelivered_task_resumes_and_a_finished_job_is_left_alone(book, admin_user):
    model = health_model_current()
    job = HealthRecomputeJob.objects.create(
        start=days_ago(2), end=DAY, days_total=3, days_done=1, state="running", model=model
    )
    assert recompute_job_run(job_id=job.pk) == "done"
    assert sorted({d for d in HealthSnapshot.objects.values_list("date", flat=True)}) == [days_ago(1), DAY]
    job.refresh_from_db()
    assert (job.state, job.days_done, job.snapshots) == ("done", 3, 4)
    assert recompute_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.days_done, job.snapshots) == (3, 4)


def test_a_long_job_continues_in_a_new_task(book, admin_user, django_capture_on_commit_callbacks):
    job = HealthRecomputeJob.objects.create(start=days_ago(2), end=DAY, days_total=3, requested_by=admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert recompute_job_run(job_id=job.pk, slice_seconds=0) == "continued"
    job.refresh_from_db()
    assert (job.state, job.days_done) == ("running", 1)
    (continuation,) = [c for c in callbacks if "health_recompute_job" in repr(c)]
    with django_capture_on_commit_callbacks(execute=True):
        continuation()  # the queued continuation, run eagerly
    job.refresh_from_db()
    assert (job.state, job.days_done) == ("done", 3)


def test_a_failing_day_marks_the_job_failed(book, admin_user, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(recompute_jobs, "health_recompute", boom)
    job = HealthRecomputeJob.objects.create(start=DAY, end=DAY, days_total=1, requested_by=admin_user)
    assert recompute_job_run(job_id=job.pk) == "failed"
    body = api(admin_user).get(f"{URL}{job.pk}/").json()
    assert body["state"] == "failed"
    assert body["error"] == "RuntimeError: database on fire"
    assert body["finished_at"] is not None
    assert timezone.now() >= dt.datetime.fromisoformat(body["finished_at"])
