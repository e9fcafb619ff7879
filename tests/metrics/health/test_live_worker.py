"""Live data on a real Celery worker consuming from Redis, on PostgreSQL (docs/health.md#live-data): a pulse
of 1 logged through the page updates health and starts the rescue run with no scheduled job; with the cache
(the debounce) down, the write still succeeds and the sweep finds the mark in the database."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.dirty import KICK_KEY, customers_mark_dirty, kick_taken
from accounts.models import DirtyCustomer
from accounts.services import pulse_log
from metrics.models import HealthSnapshot
from playbooks.models import Run
from playbooks.starter import playbooks_install_starter
from tests.factories import CustomerFactory, PulseFactory

from .conftest import running_worker
from .test_live import pulse_only_model
from .test_worker import celery_worker  # noqa: F401 - the real worker fixture

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

RAN_IN: list[str] = []


def record_thread(*, day, customer_ids) -> None:
    RAN_IN.append(threading.current_thread().name)


def wait_for(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return check()


def test_a_pulse_of_one_updates_health_and_starts_the_rescue_on_the_worker(
    celery_worker,  # noqa: F811
    csm_client,
    csm,
    customer,
    settings,
):
    settings.CSHUB_AFTER_LIVE_RECOMPUTE = [
        "playbooks.evaluation.triggers_evaluate_live",
        f"{__name__}.record_thread",
    ]
    RAN_IN.clear()
    playbooks_install_starter()  # a flushed database (transactional tests) has lost the migration's
    pulse_only_model()
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(days=3))
    DirtyCustomer.objects.all().delete()
    cache.delete(KICK_KEY)

    committed = time.monotonic()
    response = csm_client.post(
        reverse("pulse_create", args=[customer.external_id]), {"score": "1", "note": ""}
    )
    assert response.status_code in (200, 302)
    assert DirtyCustomer.objects.filter(pk=customer.pk).exists() or RAN_IN  # marked with the write

    today = timezone.localdate()
    snap = wait_for(lambda: HealthSnapshot.objects.filter(customer=customer, date=today, band="red").first())
    assert snap is not None, "the live recompute never ran"
    run = wait_for(
        lambda: Run.objects.filter(customer=customer, playbook__starter_key="red_health_rescue").first()
    )
    assert run is not None
    assert run.assignee == csm
    assert time.monotonic() - committed < 30
    # the hooks run in order after the live recompute: the run (from the first) may be visible before the
    # second has recorded its thread
    assert wait_for(lambda: RAN_IN)
    assert RAN_IN[0] != threading.main_thread().name
    assert wait_for(lambda: not DirtyCustomer.objects.exists())


def test_with_the_cache_down_the_write_succeeds_and_the_sweep_catches_up(
    celery_worker,  # noqa: F811
    csm_client,
    customer,
    settings,
):
    from metrics.tasks import health_recompute_live

    pulse_only_model()
    DirtyCustomer.objects.all().delete()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = csm_client.post(
        reverse("pulse_create", args=[customer.external_id]), {"score": "4", "note": ""}
    )
    assert response.status_code in (200, 302)  # committed: never a 500 because the debounce cache is down
    assert DirtyCustomer.objects.filter(pk=customer.pk).exists()  # waiting in the database, not lost
    assert not HealthSnapshot.objects.filter(customer=customer).exists()

    health_recompute_live.delay()  # what beat's every-minute sweep sends
    snap = wait_for(
        lambda: HealthSnapshot.objects.filter(customer=customer, date=timezone.localdate()).first()
    )
    assert snap is not None
    assert snap.band == "green"
    assert not DirtyCustomer.objects.exists()


@pytest.fixture
def two_task_worker(settings):
    """A real worker running two tasks at once (threads), as a production worker with -c 2 does."""
    with running_worker(settings, pool="threads", concurrency=2):
        yield


WRITES: list = []


def write_while_computing(*, day, customer_ids) -> None:
    """Once: a pulse of 1 for a customer of the batch commits while the batch computes, and the batch goes on
    long enough for the task that write queued to start on the worker's other thread (and find the customer
    leased to this batch)."""
    if WRITES:
        user, customer = WRITES.pop()
        pulse_log(user=user, customer=customer, score=1)
        time.sleep(3)


def test_a_write_while_its_customer_is_recomputed_is_not_left_for_the_sweep(
    two_task_worker, csm, customer, settings
):
    settings.CSHUB_LIVE_DEBOUNCE_SECONDS = 0.5
    settings.CSHUB_AFTER_LIVE_RECOMPUTE = [f"{__name__}.write_while_computing"]
    pulse_only_model()
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(days=3))
    DirtyCustomer.objects.all().delete()
    cache.delete(KICK_KEY)
    WRITES[:] = [(csm, customer)]
    customers_mark_dirty(customer_ids=[customer.pk])  # autocommit: marked, and the kick queues the task

    today = timezone.localdate()
    assert wait_for(lambda: not WRITES, 20)  # the first batch ran and wrote during its computation
    # No beat runs here: only the tasks the writes and the batch queue. Well within the sweep's minute:
    snap = wait_for(
        lambda: HealthSnapshot.objects.filter(customer=customer, date=today, band="red").first(), 20
    )
    assert snap is not None, "the write made during its customer's recompute waited for the sweep"
    assert wait_for(lambda: not DirtyCustomer.objects.exists(), 10)


def test_writes_before_and_after_the_queued_task_starts_are_all_recomputed(
    celery_worker,  # noqa: F811
    csm,
    settings,
):
    """The first write queues the task 3 s later; a second write 0.5 s later skips the cache (the task cannot
    have started) and is recomputed by that task; a third write, after the task ran, queues the next one."""
    settings.CSHUB_LIVE_DEBOUNCE_SECONDS = 3
    pulse_only_model()
    first, second, third = CustomerFactory(csm=csm), CustomerFactory(csm=csm), CustomerFactory(csm=csm)
    for c in (first, second, third):
        PulseFactory(customer=c, score=5, created_at=timezone.now() - dt.timedelta(days=3))
    DirtyCustomer.objects.all().delete()
    kick_taken()
    today = timezone.localdate()

    def red(customer):
        return HealthSnapshot.objects.filter(customer=customer, date=today, band="red").first()

    pulse_log(user=csm, customer=first, score=1)
    time.sleep(0.5)
    pulse_log(user=csm, customer=second, score=1)
    assert wait_for(lambda: red(first), 20) is not None
    assert wait_for(lambda: red(second), 5) is not None
    pulse_log(user=csm, customer=third, score=1)  # after the task claimed: it queues the next task
    assert wait_for(lambda: red(third), 20) is not None, "a write after the claim waited for the sweep"
    assert wait_for(lambda: not DirtyCustomer.objects.exists(), 10)


def test_a_public_survey_answer_is_recomputed_without_the_sweep(celery_worker, customer, settings):  # noqa: F811
    """The public page's one-statement answer (PostgreSQL) queues the live recompute once it commits: a
    detractor's NPS turns the customer red within seconds, with no beat running."""
    from metrics.health.services import health_model_create
    from surveys.services import invitation_answer
    from tests.factories import ContactFactory, invitation_with_token

    settings.CSHUB_LIVE_DEBOUNCE_SECONDS = 0.5
    health_model_create(
        factors=[{"key": "nps", "weight": 100, "bad": -100.0, "good": 100.0, "enabled": True}],
        green=Decimal(70),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="NPS only (test)",
    )
    # The new version marked everyone and queued a recompute: let it run first, so only the answer's own
    # kick can recompute the answer.
    assert wait_for(lambda: not DirtyCustomer.objects.exists(), 20)
    time.sleep(1)
    _invitation, token = invitation_with_token(contact=ContactFactory(customer=customer))
    invitation_answer(token=token, score=0)
    snap = wait_for(
        lambda: HealthSnapshot.objects.filter(
            customer=customer, date=timezone.localdate(), band="red"
        ).first(),
        20,
    )
    assert snap is not None, "the answer waited for the sweep"
    assert wait_for(lambda: not DirtyCustomer.objects.exists(), 10)


BACKENDS: list[int] = []


def record_backend(*, day, customer_ids) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        BACKENDS.append(cursor.fetchone()[0])


def test_the_worker_keeps_its_database_connection_from_task_to_task(celery_worker, customer, settings):  # noqa: F811
    """Celery's Django fixup closed every connection around every task: each live batch started a new
    PostgreSQL backend, with cold caches. The worker now keeps it under Django's rules (cshub/celery.py,
    connections_checked): two live recomputes in a row run on the same backend."""
    from metrics.tasks import health_recompute_live

    settings.CSHUB_AFTER_LIVE_RECOMPUTE = [f"{__name__}.record_backend"]
    BACKENDS.clear()
    for expected in (1, 2):
        DirtyCustomer.objects.all().delete()
        customers_mark_dirty(customer_ids=[customer.pk])  # autocommit: the kick queues a task too
        health_recompute_live.delay()
        assert wait_for(lambda n=expected: len(BACKENDS) >= n, 30), "the live recompute never ran"
    assert len(set(BACKENDS)) == 1, BACKENDS
