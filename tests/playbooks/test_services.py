"""Assignment, reassignment on CSM change, working tasks, closing runs, notifications, concurrency."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from playbooks.evaluation import triggers_evaluate
from playbooks.models import EventKind, NotificationPreference, Run, RunEvent, RunStatus, Task, TaskStatus
from playbooks.services import (
    RunAlreadyOpen,
    playbook_run_start,
    playbook_runs_start,
    run_close,
    runs_notify,
    runs_reconcile,
    task_complete,
    task_skip,
)
from playbooks.tasks import digests_send
from tests.factories import CustomerFactory, TeamFactory, TouchpointFactory, UserFactory
from tests.requirements import require_postgres

from .conftest import evaluate, make_playbook, text_of_html, text_of_plain


def silent_customer(**kwargs):
    return CustomerFactory(contract_start=timezone.localdate() - dt.timedelta(days=400), **kwargs)


# --- assignment -----------------------------------------------------------------------------------


def test_run_goes_to_the_customers_csm(csm):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    customer = silent_customer(csm=csm)
    evaluate(trigger)
    run = Run.objects.get(customer=customer)
    assert run.assignee == csm
    assert set(run.tasks.values_list("assignee", flat=True)) == {csm.pk}
    due = sorted(run.tasks.values_list("due_date", flat=True))
    assert due == [timezone.localdate() + dt.timedelta(days=2), timezone.localdate() + dt.timedelta(days=4)]


def test_no_csm_falls_back_to_the_previous_csms_manager(csm, manager, other_manager):
    """The customer lost its CSM: work goes to the manager of the team the last CSM on it belonged to."""
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30}, cooldown=0)
    customer = silent_customer(csm=csm)
    evaluate(trigger)
    Run.objects.update(status=RunStatus.DONE, closed_at=timezone.now() - dt.timedelta(days=1))
    customer.csm = None
    customer.save()
    evaluate(trigger)
    run = Run.objects.get(customer=customer, status=RunStatus.OPEN)
    assert run.assignee == manager  # csm's team is managed by `manager`, not `other_manager`


def test_no_csm_ever_falls_back_to_the_first_manager_then_admin(db):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    admin = UserFactory(email="root@example.com", role=Role.ADMIN)
    first = UserFactory(email="a.manager@example.com", role=Role.MANAGER)
    UserFactory(email="b.manager@example.com", role=Role.MANAGER)
    customer = silent_customer(csm=None)
    evaluate(trigger)
    assert Run.objects.get(customer=customer).assignee == first
    Run.objects.all().delete()
    first.is_active = False
    first.save()
    UserFactory(email="b.manager@example.com").delete()
    evaluate(trigger)
    assert Run.objects.get(customer=customer).assignee == admin


def test_configured_fallback_assignee_wins(settings, db):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    UserFactory(email="a.manager@example.com", role=Role.MANAGER)
    lead = UserFactory(email="cs.lead@example.com", role=Role.MANAGER)
    settings.CSHUB_PLAYBOOK_FALLBACK_ASSIGNEE = "CS.Lead@example.com"
    customer = silent_customer(csm=None)
    evaluate(trigger)
    assert Run.objects.get(customer=customer).assignee == lead


def test_csm_change_moves_open_tasks_and_logs_it(csm, other_csm):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    customer = silent_customer(csm=csm)
    evaluate(trigger)
    run = Run.objects.get(customer=customer)
    done = run.tasks.order_by("order").first()
    task_complete(user=csm, task=done, note="Looked at it.")

    customer.csm = other_csm  # e.g. through the API or the admin: accounts knows nothing of playbooks
    customer.save()
    assert runs_reconcile() == 1
    run.refresh_from_db()
    assert run.assignee == other_csm
    tasks = {t.title: t for t in run.tasks.all()}
    assert tasks[done.title].assignee == csm  # finished work stays with who did it
    assert all(t.assignee == other_csm for t in tasks.values() if t.status == TaskStatus.OPEN)
    event = RunEvent.objects.get(run=run, kind=EventKind.REASSIGNED)
    assert event.data == {"from": csm.pk, "to": other_csm.pk}
    assert csm.full_name in event.message
    assert other_csm.full_name in event.message
    assert runs_reconcile() == 0  # nothing left to move, no second event


def test_reconciliation_runs_in_every_sweep(csm, other_csm):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    customer = silent_customer(csm=csm)
    evaluate(trigger)
    customer.csm = other_csm
    customer.save()
    result = triggers_evaluate(speed="fast")
    assert result.reassigned == 1
    assert Run.objects.get(customer=customer).assignee == other_csm


def test_csm_removed_moves_work_to_their_manager(csm, manager):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    customer = silent_customer(csm=csm)
    evaluate(trigger)
    customer.csm = None
    customer.save()
    runs_reconcile()
    run = Run.objects.get(customer=customer)
    assert run.assignee == manager
    assert set(run.tasks.values_list("assignee", flat=True)) == {manager.pk}


# --- starting by hand -----------------------------------------------------------------------------


def test_manager_starts_a_playbook_for_a_team_customer(manager, customer, csm):
    playbook, _ = make_playbook()
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer, note="QBR went badly")
    assert run.assignee == csm
    assert run.started_by == manager
    assert run.reason == f"Started by {manager.full_name}: QBR went badly"
    with pytest.raises(RunAlreadyOpen):
        playbook_run_start(user=manager, playbook=playbook, customer=customer)
    assert Run.objects.count() == 1


def test_csm_cannot_start_playbooks(csm, customer):
    playbook, _ = make_playbook()
    with pytest.raises(PermissionDenied):
        playbook_run_start(user=csm, playbook=playbook, customer=customer)
    assert not Run.objects.exists()


def test_manager_cannot_start_outside_their_teams(manager, customer, other_customer):
    playbook, _ = make_playbook()
    with pytest.raises(PermissionDenied):
        playbook_runs_start(user=manager, playbook=playbook, customers=[customer, other_customer])
    assert not Run.objects.exists()  # all or nothing


def test_bulk_start_skips_customers_already_running(admin_user, customer, other_customer):
    playbook, _ = make_playbook()
    playbook_run_start(user=admin_user, playbook=playbook, customer=customer)
    result = playbook_runs_start(user=admin_user, playbook=playbook, customers=[customer, other_customer])
    assert len(result.started) == 1
    assert result.already_open == 1


# --- working tasks --------------------------------------------------------------------------------


@pytest.fixture
def run(manager, customer):
    playbook, _ = make_playbook(steps=2)
    return playbook_run_start(user=manager, playbook=playbook, customer=customer)


def test_completing_every_task_closes_the_run(run, csm):
    first, second = run.tasks.order_by("order")
    task_complete(user=csm, task=first, note="Done")
    run.refresh_from_db()
    assert run.status == RunStatus.OPEN
    task_skip(user=csm, task=second, note="Not needed after the call")
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert run.closed_at is not None
    first.refresh_from_db()
    assert (first.status, first.note, first.completed_by) == (TaskStatus.DONE, "Done", csm)


def test_task_cannot_be_finished_twice(run, csm):
    task = run.tasks.first()
    task_complete(user=csm, task=task)
    with pytest.raises(ValidationError):
        task_complete(user=csm, task=task)


def test_skipping_needs_a_reason(run, csm):
    with pytest.raises(ValidationError) as exc:
        task_skip(user=csm, task=run.tasks.first(), note="  ")
    assert "note" in exc.value.message_dict


def test_csm_cannot_work_another_csms_tasks(run, other_csm, other_manager, manager, admin_user):
    task = run.tasks.first()
    for outsider in (other_csm, other_manager):
        with pytest.raises(PermissionDenied):
            task_complete(user=outsider, task=task)
    task_complete(user=manager, task=task, note="Covered for Casey")  # their team's task
    task_complete(user=admin_user, task=run.tasks.order_by("order").last())


def test_required_touchpoint_step(manager, customer, csm):
    playbook, _ = make_playbook(steps=1)
    playbook.steps.update(required_touchpoint_kind="call")
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer)
    task = run.tasks.get()
    with pytest.raises(ValidationError):
        task_complete(user=csm, task=task)
    TouchpointFactory(customer=customer, kind="meeting", occurred_at=timezone.now())
    TouchpointFactory(
        customer=customer, kind="call", occurred_at=timezone.now() - dt.timedelta(days=3)
    )  # before
    triggers_evaluate(speed="fast")
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    TouchpointFactory(customer=customer, kind="call", occurred_at=timezone.now())
    assert triggers_evaluate(speed="fast").autocompleted == 1
    task.refresh_from_db()
    assert (task.status, task.completed_by) == (TaskStatus.DONE, csm)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE


def test_close_run_with_outcome(run, csm, other_csm):
    with pytest.raises(PermissionDenied):
        run_close(user=other_csm, run=run, status=RunStatus.CANCELLED, outcome_note="x")
    with pytest.raises(ValidationError):
        run_close(user=csm, run=run, status=RunStatus.CANCELLED, outcome_note="")
    run_close(user=csm, run=run, status=RunStatus.CANCELLED, outcome_note="Customer churned anyway")
    run.refresh_from_db()
    assert (run.status, run.outcome_note) == (RunStatus.CANCELLED, "Customer churned anyway")
    assert not Task.objects.filter(run=run, status=TaskStatus.OPEN).exists()


# --- notifications --------------------------------------------------------------------------------


def test_new_runs_email_the_assignee_after_commit(csm, django_capture_on_commit_callbacks):
    _, trigger = make_playbook("Silence", condition="no_touchpoint", params={"days": 30})
    silent_customer(csm=csm, name="Quiet Corp")
    silent_customer(csm=csm, name="Hushed Ltd")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(trigger)
    assert len(mail.outbox) == 1  # one email per assignee per evaluation
    message = mail.outbox[0]
    assert message.to == [csm.email]
    assert "2 new playbook runs" in message.subject
    assert "Quiet Corp" in message.body
    assert "Hushed Ltd" in message.body
    assert "No touchpoint ever logged" in message.body
    assert "Silence step 1" in message.body
    html = message.alternatives[0][0]
    assert "/playbooks/runs/" in html
    assert not Run.objects.filter(notified_at__isnull=True).exists()
    assert runs_notify(assignee_id=csm.pk) == 0  # nothing left to tell


def test_runs_for_several_assignees_are_one_task_and_one_email_each(
    csm, other_csm, settings, django_capture_on_commit_callbacks
):
    """An evaluation that starts runs for several assignees (a live batch's customers have different CSMs)
    queues one notification task for all of them (docs/health.md#live-data), which sends one email each;
    run again (a retry after a failure part way), it tells nobody twice."""
    from core.models import OutboxMessage
    from cshub.celery import app
    from playbooks.tasks import runs_notify_many

    _, trigger = make_playbook("Silence", condition="no_touchpoint", params={"days": 30})
    silent_customer(csm=csm, name="Quiet Corp")
    silent_customer(csm=csm, name="Hushed Ltd")
    silent_customer(csm=other_csm, name="Mute Inc")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False  # queued through the outbox, as on a worker
    try:
        evaluate(trigger)  # the test's transaction never commits: the message stays in the outbox
    finally:
        app.conf.task_always_eager = True
    [message] = OutboxMessage.objects.all()
    assert message.task == "playbooks.tasks.runs_notify_many"
    [by_assignee] = message.args
    assert sorted((a, len(ids)) for a, ids in by_assignee) == sorted([(csm.pk, 2), (other_csm.pk, 1)])

    assert runs_notify_many(by_assignee) == 3
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        [
            (csm.email, "2 new playbook runs for you"),
            (other_csm.email, "New playbook: Silence for Mute Inc"),
        ]
    )
    assert not Run.objects.filter(notified_at__isnull=True).exists()
    assert runs_notify_many(by_assignee) == 0  # a retry: everyone was told already
    assert len(mail.outbox) == 2


def test_an_evaluation_tells_each_assignee_once_for_all_its_triggers(csm, django_capture_on_commit_callbacks):
    """Each trigger starts its own runs; the evaluation gathers them, so an assignee gets one email for the
    evaluation (docs/playbooks.md: one email per assignee per evaluation), not one per trigger."""
    make_playbook("Silence", condition="no_touchpoint", params={"days": 30})
    make_playbook("Quiet", condition="no_touchpoint", params={"days": 30})
    silent_customer(csm=csm, name="Quiet Corp")
    with django_capture_on_commit_callbacks(execute=True):
        result = triggers_evaluate(speed="all")
    assert result.total_started >= 2
    [message] = [m for m in mail.outbox if m.to == [csm.email]]
    assert f"{result.total_started} new playbook runs" in message.subject
    assert "Silence step 1" in message.body
    assert "Quiet step 1" in message.body
    assert not Run.objects.filter(notified_at__isnull=True).exists()


def test_one_assignee_keeps_its_own_task(csm, settings):
    from core.models import OutboxMessage
    from cshub.celery import app

    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    silent_customer(csm=csm)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        evaluate(trigger)
    finally:
        app.conf.task_always_eager = True
    assert list(OutboxMessage.objects.values_list("task", flat=True)) == ["playbooks.tasks.runs_notify"]


def test_runs_started_together_are_announced_in_one_call_to_batch_subscribers(csm, other_csm):
    """playbook_run.started goes to the webhooks' and Slack's batch subscribers once per evaluation with all
    its runs (one query each when nobody listens), not once per run."""
    from core import events

    calls = []

    def listener(*, event, payloads):
        calls.append(len(payloads))

    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    for who in (csm, csm, other_csm):
        silent_customer(csm=who)
    events.subscribe_batch("playbook_run.started", listener)
    try:
        assert evaluate(trigger) == 3
    finally:
        events.unsubscribe("playbook_run.started", listener)
    assert calls == [3]


def test_digest_users_get_one_email_a_day(csm, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=csm, mode="digest")
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    silent_customer(csm=csm)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(trigger)
    assert mail.outbox == []
    digests_send()
    assert len(mail.outbox) == 1
    assert "daily digest" in mail.outbox[0].body
    digests_send()
    assert len(mail.outbox) == 1


def test_email_through_a_real_smtp_server(smtp_server, csm, django_capture_on_commit_callbacks):
    _, trigger = make_playbook("Red rescue", condition="no_touchpoint", params={"days": 30})
    customer = silent_customer(csm=csm, name="Quiet Corp")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(trigger)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == csm.email
    assert message["Subject"] == "New playbook: Red rescue for Quiet Corp"
    run = Run.objects.get(customer=customer)
    text, html = text_of_plain(message), text_of_html(message)
    assert f"http://testserver/playbooks/runs/{run.pk}/" in text or f"/playbooks/runs/{run.pk}/" in text
    assert "No touchpoint ever logged" in text
    assert "Red rescue step 2" in html
    assert f"/playbooks/runs/{run.pk}/" in html


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluations_create_exactly_one_run(csm):
    require_postgres()
    from django.db import connections

    playbook, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    customers = [silent_customer(csm=csm) for _ in range(20)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    started: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            started.append(evaluate(trigger))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(started) == len(customers)
    assert Run.objects.filter(playbook=playbook).count() == len(customers)
    assert Task.objects.filter(run__playbook=playbook).count() == 2 * len(customers)
    assert RunEvent.objects.filter(run__playbook=playbook, kind=EventKind.STARTED).count() == len(customers)
    assert connection.vendor == "postgresql"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_manual_start_and_evaluation_one_run(csm, manager):
    require_postgres()
    from django.db import connections

    playbook, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    customer = silent_customer(csm=csm)
    TeamFactory(manager=manager).members.add(csm)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def by_hand() -> None:
        try:
            barrier.wait()
            with contextlib.suppress(RunAlreadyOpen):
                playbook_run_start(user=manager, playbook=playbook, customer=customer)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def by_trigger() -> None:
        try:
            barrier.wait()
            evaluate(trigger)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=by_hand), threading.Thread(target=by_trigger)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Run.objects.filter(playbook=playbook, customer=customer).count() == 1
