"""The nightly path on a real Celery worker consuming from Redis (docs/architecture.md#quality-bars): the
chord of chunk tasks and
the finish hook produce exactly the snapshots of `manage.py recompute_health`."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.management import call_command

from metrics.models import HealthSnapshot
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory

from .conftest import DAY, at, days_ago, running_worker, usage

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

FINISHED: list[tuple[dt.date, str]] = []


def record_finish(*, day: dt.date) -> None:
    FINISHED.append((day, threading.current_thread().name))


@pytest.fixture
def celery_worker(settings):
    with running_worker(settings, pool="solo"):
        yield


def rows() -> list[tuple]:
    return list(
        HealthSnapshot.objects.order_by("customer_id", "date").values_list(
            "customer_id", "date", "score", "band", "model_id", "components"
        )
    )


def test_celery_chord_matches_the_management_command(celery_worker, settings):
    from metrics.tasks import health_recompute_day

    settings.CSHUB_AFTER_HEALTH_RECOMPUTE = [f"{__name__}.record_finish"]
    FINISHED.clear()
    for i in range(7):
        c = CustomerFactory(licenses=10 + i)
        for d in range(0, 60, 4):
            usage(c, users=1 + (i + d) % 9, day=days_ago(d))
        if i % 2:
            PulseFactory(customer=c, score=1 + i % 5, created_at=at(days_ago(i)))
        if i % 3:
            TouchpointFactory(customer=c, occurred_at=at(days_ago(3 * i)))
        TicketFactory(customer=c, priority=["low", "high", "urgent"][i % 3], opened_at=at(days_ago(2)))

    call_command("recompute_health", "--date", days_ago(1).isoformat())  # yesterday, for hysteresis
    FINISHED.clear()
    health_recompute_day.delay(DAY.isoformat(), None, 3)  # 7 customers in chunks of 3: three tasks
    deadline = time.monotonic() + 60
    while not FINISHED and time.monotonic() < deadline:
        time.sleep(0.2)
    assert FINISHED, "the chord's finish task never ran"
    assert FINISHED[0][0] == DAY
    assert FINISHED[0][1] != threading.main_thread().name  # ran in the worker, not inline
    via_celery = rows()
    assert HealthSnapshot.objects.filter(date=DAY).count() == 7

    call_command("recompute_health", "--date", DAY.isoformat())
    assert rows() == via_celery


def test_model_editor_preview_runs_on_the_worker(celery_worker, manager_client):
    """Eager off: the POST answers at once with a running card; the worker fills the job in (through the
    shared Redis cache) and the polled card then shows the result."""
    from .test_preview_jobs import start

    html, poll = start(manager_client)
    assert 'data-testid="health-preview-running"' in html
    deadline = time.monotonic() + 60
    card = ""
    while time.monotonic() < deadline:
        card = manager_client.get(poll, HTTP_HX_REQUEST="true").content.decode()
        if 'data-testid="health-preview-running"' not in card:
            break
        time.sleep(0.3)
    assert 'data-testid="health-preview"' in card
    assert "Greenfield" in card
