"""Live data (docs/health.md#live-data): writes mark customers dirty in their own transaction; the live
recompute replaces today's snapshot of the dirty customers and evaluates their live triggers."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.dirty import (
    KICK_KEY,
    customers_claim_dirty,
    customers_clear_dirty,
    customers_mark_dirty,
    dirty_since,
)
from accounts.models import DirtyCustomer, TouchpointKind
from accounts.services import customers_upsert, pulse_log, touchpoint_log
from core.ingest import IngestError
from metrics.health.live import health_live_recompute
from metrics.health.services import health_model_create, health_recompute
from metrics.models import HealthSnapshot
from metrics.services import key_features_upsert, mrr_upsert, tickets_upsert, usage_events_ingest
from playbooks.models import Playbook, Run, RunStatus, TaskStatus
from playbooks.services import playbook_run_start
from surveys.services.imports import responses_import
from tests.factories import CustomerFactory, PulseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _starter_library(db):
    """The migration installs the starter library; a transactional test elsewhere may have flushed it."""
    from playbooks.starter import playbooks_install_starter

    playbooks_install_starter()


def pulse_only_model():
    """A model version of the CSM pulse alone: a pulse of 1 scores 0 (red), 5 scores 100 (green)."""
    return health_model_create(
        factors=[{"key": "pulse", "weight": 100, "bad": 1.0, "good": 5.0, "enabled": True}],
        green=Decimal(70),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="pulse only (test)",
    )


def dirty_ids() -> set[int]:
    return set(DirtyCustomer.objects.values_list("pk", flat=True))


def test_pulse_marks_its_customer_dirty_in_the_same_transaction(csm, customer, other_customer):
    DirtyCustomer.objects.all().delete()
    pulse_log(user=csm, customer=customer, score=2)
    assert dirty_ids() == {customer.pk}
    assert dirty_since(customer_id=customer.pk) is not None
    assert dirty_since(customer_id=other_customer.pk) is None


def test_a_rolled_back_write_leaves_no_mark(csm, customer):
    DirtyCustomer.objects.all().delete()

    def failing_request():
        with transaction.atomic():
            pulse_log(user=csm, customer=customer, score=2)
            raise RuntimeError("the request failed after the pulse")

    with pytest.raises(RuntimeError):
        failing_request()
    assert dirty_ids() == set()


def test_a_second_mark_bumps_the_version_and_keeps_the_first_time(csm, customer):
    DirtyCustomer.objects.all().delete()
    pulse_log(user=csm, customer=customer, score=2)
    first = DirtyCustomer.objects.get(pk=customer.pk)
    touchpoint_log(
        user=csm, customer=customer, kind=TouchpointKind.CALL, occurred_at=timezone.now(), summary="x"
    )
    again = DirtyCustomer.objects.get(pk=customer.pk)
    assert (again.version, again.since) == (first.version + 1, first.since)


def test_every_factor_input_write_marks(admin_user, customer, other_customer):
    DirtyCustomer.objects.all().delete()
    now = timezone.now()
    usage_events_ingest(
        rows=[
            {
                "event_id": "e1",
                "customer": "NW-1",
                "user_id": "u",
                "feature": "f",
                "occurred_at": now,
                "quantity": 1,
            }
        ]
    )
    assert dirty_ids() == {customer.pk}
    DirtyCustomer.objects.all().delete()
    tickets_upsert(rows=[{"external_id": "T1", "customer": "SP-1", "opened_at": now, "priority": "high"}])
    assert dirty_ids() == {other_customer.pk}
    DirtyCustomer.objects.all().delete()
    mrr_upsert(rows=[{"customer": "NW-1", "effective_date": dt.date(2026, 1, 1), "mrr": Decimal(100)}])
    assert dirty_ids() == {customer.pk}
    DirtyCustomer.objects.all().delete()
    customers_upsert(rows=[{"external_id": "SP-1", "licenses": 40}])
    assert dirty_ids() == {other_customer.pk}
    DirtyCustomer.objects.all().delete()
    customers_upsert(rows=[{"external_id": "SP-1", "licenses": 40}])  # unchanged: nothing to recompute
    assert dirty_ids() == set()
    responses_import(
        rows=[
            {
                "customer": "NW-1",
                "contact_email": "a@x.example",
                "kind": "nps",
                "score": 3,
                "answered_at": now,
            }
        ]
    )
    assert dirty_ids() == {customer.pk}
    DirtyCustomer.objects.all().delete()
    key_features_upsert(rows=[{"name": "reports"}])
    assert dirty_ids() == {customer.pk, other_customer.pk}
    DirtyCustomer.objects.all().delete()
    pulse_only_model()  # a new model version: everyone
    assert dirty_ids() == {customer.pk, other_customer.pk}


def test_a_bad_ingest_marks_nothing(customer):
    DirtyCustomer.objects.all().delete()
    with pytest.raises(IngestError):
        tickets_upsert(
            rows=[{"external_id": "T1", "customer": "NOPE", "opened_at": timezone.now(), "priority": "high"}]
        )
    assert dirty_ids() == set()


def test_live_recompute_replaces_todays_snapshot_and_clears_the_marks(csm, customer, other_customer):
    pulse_only_model()
    today = timezone.localdate()
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(days=2))
    health_recompute(day=today, run_hooks=False)
    assert HealthSnapshot.objects.get(customer=customer, date=today).band == "green"
    DirtyCustomer.objects.all().delete()

    pulse_log(user=csm, customer=customer, score=3)
    done = health_live_recompute()
    assert done.customers == 1
    snap = HealthSnapshot.objects.get(customer=customer, date=today)
    assert (snap.score, snap.band) == (Decimal("50.0"), "yellow")
    customer.refresh_from_db()
    assert (customer.health_score, customer.health_band, customer.health_as_of) == (
        Decimal("50.0"),
        "yellow",
        today,
    )
    assert dirty_ids() == set()
    assert health_live_recompute().customers == 0  # nothing left: a second pass is a no-op


def test_a_mark_made_during_the_recompute_survives_it(csm, customer):
    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[customer.pk])
    claimed = customers_claim_dirty(limit=10)
    assert claimed == [(customer.pk, 1)]
    assert customers_claim_dirty(limit=10) == []  # leased: a second worker does not take it
    customers_mark_dirty(customer_ids=[customer.pk])  # a write lands while the first worker computes
    assert customers_clear_dirty(claimed=claimed) == 0
    row = DirtyCustomer.objects.get(pk=customer.pk)
    assert (row.version, row.claimed_until) == (2, None)  # still dirty, free for the next pass
    assert customers_claim_dirty(limit=10) == [(customer.pk, 2)]


def test_a_failed_batch_stays_dirty(csm, customer, settings):
    settings.CSHUB_AFTER_LIVE_RECOMPUTE = [f"{__name__}.explode"]
    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[customer.pk])
    with pytest.raises(RuntimeError):
        health_live_recompute()
    row = DirtyCustomer.objects.get(pk=customer.pk)
    assert row.claimed_until is None


def explode(**_kwargs):
    raise RuntimeError("hook failed")


def test_a_pulse_of_one_starts_the_rescue_run_without_any_scheduled_job(csm, customer):
    """The starter library's red-health rescue (band entered red) is a nightly condition; the live
    evaluation runs it for the recomputed customers."""
    pulse_only_model()
    today = timezone.localdate()
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(days=3))
    health_recompute(day=today - dt.timedelta(days=1), run_hooks=False)
    DirtyCustomer.objects.all().delete()

    pulse_log(user=csm, customer=customer, score=1)
    health_live_recompute()
    assert HealthSnapshot.objects.get(customer=customer, date=today).band == "red"
    run = Run.objects.get(customer=customer, playbook__starter_key="red_health_rescue")
    assert run.status == RunStatus.OPEN
    assert run.assignee == csm
    assert "Health entered red" in run.reason


def test_live_evaluation_leaves_other_customers_alone(csm, customer, other_customer):
    """Only the recomputed customers are evaluated: another red customer waits for the nightly run."""
    pulse_only_model()
    today = timezone.localdate()
    PulseFactory(customer=other_customer, score=1, created_at=timezone.now() - dt.timedelta(hours=1))
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(days=3))
    health_recompute(day=today, run_hooks=False)
    DirtyCustomer.objects.all().delete()
    pulse_log(user=csm, customer=customer, score=4)
    health_live_recompute()
    assert not Run.objects.filter(customer=other_customer).exists()
    assert not Run.objects.filter(customer=customer).exists()


def test_live_evaluation_starts_runs_only_for_eligible_customers(csm, manager):
    """Blocked by an open run, or churned: the live evaluation (the batch's eligible ids) starts nothing."""
    from accounts.models import LifecycleStage

    pulse_only_model()
    today = timezone.localdate()
    fresh = CustomerFactory(csm=csm, contract_start=today - dt.timedelta(days=5))
    churned = CustomerFactory(
        csm=csm, contract_start=today - dt.timedelta(days=5), lifecycle_stage=LifecycleStage.CHURNED
    )
    already = CustomerFactory(csm=csm)
    rescue = Playbook.objects.get(starter_key="red_health_rescue")
    playbook_run_start(user=manager, playbook=rescue, customer=already, note="by hand")
    DirtyCustomer.objects.all().delete()
    for c in (fresh, churned, already):
        pulse_log(user=csm, customer=c, score=1)
    assert health_live_recompute().customers == 3

    started = set(Run.objects.values_list("customer_id", "playbook__starter_key"))
    assert (fresh.pk, "onboarding") in started
    assert (fresh.pk, "red_health_rescue") in started
    assert not {c for c, _ in started} & {churned.pk}
    assert Run.objects.filter(customer=already, playbook=rescue).count() == 1  # the open one, not a second
    assert HealthSnapshot.objects.get(customer=already, date=today).band == "red"


def test_a_call_completes_its_task_in_the_same_transaction(csm, manager, customer):
    playbook = Playbook.objects.get(starter_key="red_health_rescue")
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer, note="")
    call_task = run.tasks.get(required_touchpoint_kind=TouchpointKind.CALL)
    with transaction.atomic():
        touchpoint_log(
            user=csm,
            customer=customer,
            kind=TouchpointKind.CALL,
            occurred_at=timezone.now(),
            summary="Sponsor",
        )
        call_task.refresh_from_db()
        assert call_task.status == TaskStatus.DONE  # before the commit: same transaction
    assert "Call logged on" in call_task.note


def test_a_touchpoint_of_another_kind_completes_nothing(csm, manager, customer):
    playbook = Playbook.objects.get(starter_key="red_health_rescue")
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer, note="")
    touchpoint_log(
        user=csm, customer=customer, kind=TouchpointKind.EMAIL, occurred_at=timezone.now(), summary="x"
    )
    assert run.tasks.get(required_touchpoint_kind=TouchpointKind.CALL).status == TaskStatus.OPEN


@pytest.fixture
def queued_for_real(settings):
    """Tasks go to the broker (no worker consumes them here) instead of running inline."""
    from accounts.dirty import BUSY_KEY, kick_taken
    from cshub.celery import app

    settings.CSHUB_LIVE_DEBOUNCE_SECONDS = 30
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete(BUSY_KEY)
    kick_taken()
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True
        kick_taken()


def test_a_write_skips_the_cache_while_the_queued_task_cannot_have_started(queued_for_real):
    from accounts.dirty import kick, kick_taken

    kick()  # the first write of a burst: sets the key, queues the task 30 s later
    assert cache.get(KICK_KEY) is not None
    cache.delete(KICK_KEY)
    kick()  # the task cannot have started: no cache call at all (the key stays deleted)
    assert cache.get(KICK_KEY) is None
    kick_taken()  # the task starts: from here a write may come after its claim
    kick()
    assert cache.get(KICK_KEY) is not None  # so it queues the next task


def test_a_write_learns_another_process_queued_task_from_the_cache(queued_for_real):
    from accounts.dirty import kick

    cache.set(KICK_KEY, time.time() + 30)  # another process queued the task: its ETA
    kick()
    cache.delete(KICK_KEY)
    kick()  # known from the first call: no cache call
    assert cache.get(KICK_KEY) is None


def test_inline_tasks_never_skip_the_kick(queued_for_real, settings, csm, customer):
    """Tasks running inline (tests, the demo) have no queued task to wait for: a write recomputes at once,
    even right after this process queued one for a worker."""
    from accounts.dirty import kick
    from cshub.celery import app

    kick()  # queued for a worker, 30 s later
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    cache.delete(KICK_KEY)
    DirtyCustomer.objects.all().delete()
    with transaction.atomic():
        customers_mark_dirty(customer_ids=[customer.pk])
    kick()  # what the mark's transaction runs once committed (the test's own transaction never commits)
    assert dirty_ids() == set()
    assert HealthSnapshot.objects.filter(customer=customer, date=timezone.localdate()).exists()


def test_a_write_goes_to_the_cache_once_the_queued_task_may_have_started(queued_for_real):
    from accounts.dirty import kick

    cache.set(KICK_KEY, time.time() + 0.5)  # due within the margin: it may start before the next claim
    kick()
    cache.delete(KICK_KEY)
    kick()
    assert cache.get(KICK_KEY) is not None  # not skipped: the write queued a task of its own


def test_a_busy_stream_waits_longer_and_a_quiet_one_goes_back_to_the_short_debounce(
    queued_for_real, settings, customer, other_customer
):
    """A pass that recomputed a busy stream's batch makes the next burst's task wait the busy debounce, so
    batches grow (their fixed cost shared by more customers); a small batch ends it
    (docs/health.md#live-data)."""
    from accounts.dirty import BUSY_KEY, kick, kick_taken, live_pace_record

    settings.CSHUB_LIVE_DEBOUNCE_BUSY_SECONDS = 45
    settings.CSHUB_LIVE_BUSY_BATCH = 2

    def queued_in() -> float:
        kick_taken()
        kick()  # the first write of a burst: its task's ETA goes in the key
        return cache.get(KICK_KEY) - time.time()

    assert 28 < queued_in() <= 30  # quiet: the short debounce
    live_pace_record(customers=2)
    assert 43 < queued_in() <= 45  # busy: the longer one
    live_pace_record(customers=0)  # the sweep found nothing: the pace stays
    assert 43 < queued_in() <= 45
    live_pace_record(customers=1)
    assert 28 < queued_in() <= 30
    assert cache.get(BUSY_KEY) is None

    settings.CELERY_TASK_ALWAYS_EAGER = True  # a live pass records its pace itself
    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[customer.pk, other_customer.pk])
    assert health_live_recompute().customers == 2
    assert cache.get(BUSY_KEY) == 2


# --- Recompute now, and the "as of" stamps ------------------------------------------------------------


def test_manager_recomputes_a_customer_now(manager_client, customer, django_capture_on_commit_callbacks):
    pulse_only_model()
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(hours=2))
    DirtyCustomer.objects.all().delete()
    url = reverse("customer_health_recompute", args=[customer.external_id])
    with django_capture_on_commit_callbacks(execute=True):  # the kick after commit: eager, so inline
        response = manager_client.post(url)
    assert response.status_code == 302
    snap = HealthSnapshot.objects.get(customer=customer, date=timezone.localdate())
    assert snap.band == "green"
    assert dirty_ids() == set()
    html = manager_client.get(customer.get_absolute_url()).content.decode()
    assert f"as of {timezone.localtime(snap.computed_at):%H:%M}" in html
    assert 'data-testid="recompute-customer"' in html


@pytest.mark.parametrize("who", ["csm_client", "other_manager"])
def test_csms_and_other_teams_managers_cannot_recompute_a_customer(who, request, customer, client):
    if who == "other_manager":
        client.force_login(request.getfixturevalue("other_manager"))
    else:
        client = request.getfixturevalue("csm_client")
    DirtyCustomer.objects.all().delete()
    response = client.post(reverse("customer_health_recompute", args=[customer.external_id]))
    assert response.status_code == 403
    assert dirty_ids() == set()
    assert 'data-testid="recompute-customer"' not in client.get(customer.get_absolute_url()).content.decode()


def test_admin_recomputes_everyone_with_progress(admin_client, customer, other_customer):
    DirtyCustomer.objects.all().delete()
    url = reverse("health_recompute_all")
    assert admin_client.post(url).status_code == 302  # on_commit does not run in this test: still pending
    assert dirty_ids() == {customer.pk, other_customer.pk}
    html = admin_client.get(url).content.decode()
    assert "2 of 2 customers still to recompute (0 % done)" in html
    health_live_recompute(batch_size=1)
    html = admin_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="recompute-done"' in html


@pytest.mark.parametrize("who", ["csm_client", "manager_client"])
def test_only_admins_recompute_everyone(who, request, customer):
    client = request.getfixturevalue(who)
    DirtyCustomer.objects.all().delete()
    url = reverse("health_recompute_all")
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert dirty_ids() == set()


def test_pages_stamp_health_as_of_and_say_when_it_is_updating(csm_client, csm, customer):
    DirtyCustomer.objects.all().delete()
    for url in (reverse("book"), reverse("home"), reverse("playbooks:inbox")):
        html = csm_client.get(url).content.decode()
        assert "Health as of " in html
        assert "updating…" not in html
    pulse_log(user=csm, customer=customer, score=2)  # committed by the test's transaction; not recomputed yet
    since = timezone.localtime(DirtyCustomer.objects.get().since)
    html = csm_client.get(reverse("book")).content.decode()
    assert f"Health as of {since:%H:%M} · updating…" in html


def test_the_customer_page_reloads_its_panels_while_a_change_waits(csm_client, csm, customer):
    DirtyCustomer.objects.all().delete()
    html = csm_client.get(customer.get_absolute_url()).content.decode()
    assert "?part=panels" not in html
    pulse_log(user=csm, customer=customer, score=2)  # not recomputed yet (no commit hook in this test)
    html = csm_client.get(customer.get_absolute_url()).content.decode()
    assert f"/customers/{customer.external_id}/?part=panels" in html
    part = csm_client.get(customer.get_absolute_url() + "?part=panels", HTTP_HX_REQUEST="true")
    assert part.content.decode().lstrip().startswith('<section class="grid customer-panels"')
    health_live_recompute()
    part = csm_client.get(customer.get_absolute_url() + "?part=panels", HTTP_HX_REQUEST="true")
    assert "hx-get" not in part.content.decode().split(">", 1)[0]  # done: it stops reloading


def test_a_live_pass_ranks_relative_usage_on_the_batchs_usage_now(customer, other_customer):
    """The live recompute ranks the dirty customers on their usage now against the hour's anchor
    (relative_usage.live_ranks, tests/metrics/health/test_relative_usage_live.py): with the anchor built
    before their writes, their snapshots hold the same relative usage as ranking the whole base afresh."""
    from metrics.health.factors import get_factor, relative_usage
    from metrics.models import UsageDaily

    today = timezone.localdate()
    others = [CustomerFactory(segment="SMB") for _ in range(40)]
    for i, c in enumerate([customer, other_customer, *others]):
        UsageDaily.objects.create(customer=c, user_id="u", feature="f", day=today, events=i + 1, quantity=1)
    relative_usage.live_anchor(today)  # built before the writes
    UsageDaily.objects.filter(customer=others[0]).update(events=500)  # same segment, new usage
    UsageDaily.objects.filter(customer=customer).update(events=3)
    relative_usage.forget()  # a worker process that loads the anchor
    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[others[0].pk, customer.pk])
    health_live_recompute(day=today)
    afresh = get_factor("relative_usage").readings(customer_ids=[others[0].pk, customer.pk], day=today)
    stored = {
        pk: next(c["raw_value"] for c in components if c["factor"] == "relative_usage")
        for pk, components in HealthSnapshot.objects.filter(date=today, customer_id__in=afresh).values_list(
            "customer_id", "components"
        )
    }
    assert stored == {pk: round(reading.value, 4) for pk, reading in afresh.items()}
    assert stored[others[0].pk] > 95  # its new usage, the top of SMB


def test_deferred_writes_mark_but_queue_nothing(csm, customer, django_capture_on_commit_callbacks):
    from accounts.dirty import live_recompute_deferred

    DirtyCustomer.objects.all().delete()
    with live_recompute_deferred(), django_capture_on_commit_callbacks(execute=True):
        pulse_log(user=csm, customer=customer, score=1)
    assert dirty_ids() == {customer.pk}  # marked; the sweep recomputes it later
    assert not HealthSnapshot.objects.filter(customer=customer).exists()
    with django_capture_on_commit_callbacks(execute=True):
        pulse_log(user=csm, customer=customer, score=2)
    assert dirty_ids() == set()  # not deferred: recomputed (inline here) once committed
    assert HealthSnapshot.objects.filter(customer=customer, date=timezone.localdate()).exists()


def test_a_live_pass_reads_the_model_once(customer, other_customer):
    """The pass reads the model version with its factors once and hands it to the recompute, which used to
    read it again for each batch (docs/health.md#live-data)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[customer.pk, other_customer.pk])
    with CaptureQueriesContext(connection) as ctx:
        assert health_live_recompute().customers == 2
    model_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "metrics_healthmodel"' in q["sql"]]
    factor_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "metrics_healthfactor"' in q["sql"]]
    assert (len(model_reads), len(factor_reads)) == (1, 1)


MARK_DURING: list[int] = []


def mark_another(*, day, customer_ids) -> None:
    customers_mark_dirty(customer_ids=MARK_DURING)


def test_a_pass_stops_after_a_partial_batch_and_goes_on_after_a_full_one(customer, other_customer, settings):
    third = CustomerFactory()
    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[customer.pk, other_customer.pk, third.pk])
    assert health_live_recompute(batch_size=2).customers == 3  # a full batch of 2, then the last one
    settings.CSHUB_AFTER_LIVE_RECOMPUTE = [f"{__name__}.mark_another"]
    MARK_DURING[:] = [other_customer.pk]
    customers_mark_dirty(customer_ids=[customer.pk])
    done = health_live_recompute(batch_size=2)
    assert (done.customers, done.batches) == (1, 1)  # a write during the batch waits for its own task
    assert dirty_ids() == {other_customer.pk}


WRITE_DURING: list = []


def write_during_the_batch(*, day, customer_ids) -> None:
    """A pulse of 1 for a customer of the batch lands while the batch computes, and the task that write
    queued runs at once, on another worker, finding the customer leased to this pass (once)."""
    if WRITE_DURING:
        user, customer = WRITE_DURING.pop()
        pulse_log(user=user, customer=customer, score=1)
        assert health_live_recompute().customers == 0


def test_a_write_during_its_customers_recompute_is_recomputed_without_the_sweep(csm, customer, settings):
    pulse_only_model()
    PulseFactory(customer=customer, score=5, created_at=timezone.now() - dt.timedelta(days=3))
    DirtyCustomer.objects.all().delete()
    customers_mark_dirty(customer_ids=[customer.pk])
    settings.CSHUB_AFTER_LIVE_RECOMPUTE = [f"{__name__}.write_during_the_batch"]
    WRITE_DURING[:] = [(csm, customer)]

    health_live_recompute()  # its batch leaves the customer dirty and queues a task (eager: it runs inline)
    assert WRITE_DURING == []
    assert dirty_ids() == set()
    assert HealthSnapshot.objects.get(customer=customer, date=timezone.localdate()).band == "red"


def test_a_survey_answer_marks_its_customer_in_the_same_statement_or_transaction(customer):
    """On PostgreSQL the public answer is one statement (the mark is a CTE of it); elsewhere a transaction."""
    from surveys.services import invitation_answer
    from surveys.services.links import LinkUsed
    from tests.factories import ContactFactory, invitation_with_token

    DirtyCustomer.objects.all().delete()
    _invitation, token = invitation_with_token(contact=ContactFactory(customer=customer))
    invitation_answer(token=token, score=2)
    assert dirty_ids() == {customer.pk}
    DirtyCustomer.objects.all().delete()
    with pytest.raises(LinkUsed):
        invitation_answer(token=token, score=9)
    assert dirty_ids() == set()  # nothing written, nothing marked
