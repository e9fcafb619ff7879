"""Tasks of one's own (docs/workspace.md#own-tasks): ad-hoc tasks, snooze, reassign, the team tasks page,
task.assigned on every assignment; the §3 matrix for each."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, NotificationKind, Role, Team
from playbooks import selectors
from playbooks.models import EventKind, Run, RunEvent, RunStatus, Task, TaskStatus
from playbooks.services import runs_reconcile, task_complete
from playbooks.services.runs import NewRun, runs_create
from tests.conftest import client_for
from tests.factories import (
    CustomerFactory,
    PlaybookFactory,
    RunFactory,
    StepFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
NEXT_WEEK = TODAY + dt.timedelta(days=7)


@pytest.fixture
def teammate(csm):
    user = UserFactory(email="teammate@example.com", full_name="Tara Teammate", role=Role.CSM)
    Team.objects.get(name="Team North").members.add(user)
    return user


def add(client, customer, assignee, title="Send the quote", due=NEXT_WEEK):
    return client.post(
        reverse("playbooks:task_add", args=[customer.external_id]),
        {
            "title": title,
            "due_date": due.isoformat(),
            "assignee": assignee.pk,
            "next": customer.get_absolute_url(),
        },
    )


def test_csm_adds_ad_hoc_tasks_sharing_one_open_run(csm_client, csm, customer):
    assert add(csm_client, customer, csm).status_code == 302
    assert add(csm_client, customer, csm, title="Book the QBR").status_code == 302
    run = Run.objects.get(customer=customer, status=RunStatus.OPEN)
    assert run.playbook.starter_key == "adhoc"
    assert list(run.tasks.order_by("order").values_list("title", flat=True)) == [
        "Send the quote",
        "Book the QBR",
    ]
    assert all(t.assignee_pinned for t in run.tasks.all())
    assert RunEvent.objects.filter(run=run, kind=EventKind.TASK_ADDED).count() == 2
    # The inbox lists them like any task.
    assert {t.title for t in selectors.inbox_tasks(user=csm).upcoming} == {"Send the quote", "Book the QBR"}


def test_finished_ad_hoc_run_closes_and_the_next_task_opens_a_new_one(csm_client, csm, customer):
    add(csm_client, customer, csm)
    task = Task.objects.get()
    task_complete(user=csm, task=task)
    assert Run.objects.get().status == RunStatus.DONE
    add(csm_client, customer, csm, title="Follow up")
    assert Run.objects.filter(customer=customer, status=RunStatus.OPEN).count() == 1
    assert Run.objects.count() == 2


def test_manager_adds_task_for_team_csm_who_is_notified(manager_client, manager, csm, customer):
    add(manager_client, customer, csm)
    n = Notification.objects.get()
    assert (n.user, n.kind, n.actor) == (csm, NotificationKind.ASSIGNED, manager)


def test_csm_cannot_add_task_on_another_book(csm_client, csm, other_customer):
    assert add(csm_client, other_customer, csm).status_code == 403
    assert not Task.objects.exists()


def test_csm_cannot_assign_outside_their_team(csm_client, customer, other_csm):
    response = add(csm_client, customer, other_csm)
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_bad_task_input_is_400(csm_client, csm, customer):
    assert add(csm_client, customer, csm, title="  ").status_code == 400
    assert add(csm_client, customer, csm, due=TODAY - dt.timedelta(days=30)).status_code == 400
    response = csm_client.post(
        reverse("playbooks:task_add", args=[customer.external_id]), {"due_date": "tomorrow"}
    )
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_adhoc_playbook_is_not_in_the_library(manager_client, csm_client, csm, customer):
    add(csm_client, customer, csm)
    page = manager_client.get(reverse("playbooks:library"))
    assert "Ad-hoc tasks" not in page.content.decode()


def test_customer_page_offers_the_task_form_to_those_who_may(csm_client, other_csm_client, customer):
    assert b'id="task-add-form"' in csm_client.get(customer.get_absolute_url()).content
    assert b'id="task-add-form"' not in other_csm_client.get(customer.get_absolute_url()).content


# --- Snooze ---


def snooze(client, task, until):
    return client.post(
        reverse("playbooks:task_snooze", args=[task.pk]), {"until": until.isoformat(), "next": "/tasks/"}
    )


def test_assignee_snoozes_a_task(csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm, due_date=TODAY)
    assert snooze(csm_client, task, NEXT_WEEK).status_code == 302
    task.refresh_from_db()
    assert task.due_date == NEXT_WEEK
    event = RunEvent.objects.get(kind=EventKind.TASK_SNOOZED)
    assert event.data == {"task_id": task.pk, "from": TODAY.isoformat(), "to": NEXT_WEEK.isoformat()}


def test_snooze_into_the_past_is_400(csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm, due_date=TODAY)
    assert snooze(csm_client, task, TODAY).status_code == 400
    task.refresh_from_db()
    assert task.due_date == TODAY


def test_csm_cannot_snooze_or_reassign_anothers_task(other_csm_client, csm, customer, other_csm):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert snooze(other_csm_client, task, NEXT_WEEK).status_code == 403
    response = other_csm_client.post(
        reverse("playbooks:task_reassign", args=[task.pk]), {"assignee": other_csm.pk}
    )
    assert response.status_code == 403


# --- Reassign ---


def reassign(client, task, to):
    return client.post(
        reverse("playbooks:task_reassign", args=[task.pk]), {"assignee": to.pk, "next": "/tasks/"}
    )


def test_csm_reassigns_to_a_teammate_who_is_notified_and_it_sticks(csm_client, csm, teammate, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert reassign(csm_client, task, teammate).status_code == 302
    task.refresh_from_db()
    assert task.assignee == teammate
    assert task.assignee_pinned
    assert Notification.objects.get().user == teammate
    runs_reconcile()  # the run still belongs to the CSM; the reassigned task stays with the teammate
    task.refresh_from_db()
    assert task.assignee == teammate


def test_csm_cannot_reassign_to_another_team_or_a_manager(csm_client, csm, manager, other_csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert reassign(csm_client, task, other_csm).status_code == 400
    assert reassign(csm_client, task, manager).status_code == 400
    task.refresh_from_db()
    assert task.assignee == csm


def test_manager_reassigns_within_teams_only(manager_client, csm, teammate, other_csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert reassign(manager_client, task, teammate).status_code == 302
    assert reassign(manager_client, task, other_csm).status_code == 400


def test_admin_reassigns_anywhere(admin_client, csm, other_csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert reassign(admin_client, task, other_csm).status_code == 302


def test_finished_task_cannot_be_reassigned(csm_client, csm, teammate, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm, status=TaskStatus.DONE)
    assert reassign(csm_client, task, teammate).status_code == 400


def test_pinned_task_of_a_deactivated_assignee_follows_the_run_again(csm, teammate, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=teammate, assignee_pinned=True)
    teammate.is_active = False
    teammate.save()
    runs_reconcile()
    task.refresh_from_db()
    assert task.assignee == csm


# --- task.assigned from playbook runs ---


def test_runs_created_by_hand_notify_each_task_assignee(manager, csm, customer):
    playbook = PlaybookFactory()
    StepFactory.create_batch(2, playbook=playbook)
    runs_create(playbook=playbook, rows=[NewRun(customer.pk, "by hand", {})], started_by=manager)
    assert Notification.objects.filter(user=csm, kind=NotificationKind.ASSIGNED).count() == 2


def test_reconcile_moving_tasks_publishes_assignment(csm, other_csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    customer.csm = other_csm
    customer.save()
    runs_reconcile()
    task.refresh_from_db()
    assert task.assignee == other_csm
    assert Notification.objects.filter(user=other_csm, kind=NotificationKind.ASSIGNED).count() == 1


# --- Team tasks page ---


def test_team_tasks_page_lists_each_csms_tasks_with_flat_queries(
    manager_client, csm, teammate, django_assert_max_num_queries
):
    for person in (csm, teammate):
        customer = CustomerFactory(csm=person)
        TaskFactory(
            run=RunFactory(customer=customer),
            assignee=person,
            title=f"Overdue for {person.pk}",
            due_date=TODAY - dt.timedelta(days=2),
        )
    with django_assert_max_num_queries(12) as small:
        page = manager_client.get(reverse("playbooks:team"))
    baseline = len(small.captured_queries)
    html = page.content.decode()
    assert f"Overdue for {csm.pk}" in html
    assert f"Overdue for {teammate.pk}" in html
    assert "overdue" in html
    for person in (csm, teammate):
        for _ in range(15):
            TaskFactory(run=RunFactory(customer=CustomerFactory(csm=person)), assignee=person)
    with django_assert_max_num_queries(baseline):
        page = manager_client.get(reverse("playbooks:team"))
    assert len(page.context["rows"][0].open_tasks) == selectors.TEAM_TASKS_SHOWN


def test_team_tasks_page_denied_to_csm(csm_client):
    assert csm_client.get(reverse("playbooks:team")).status_code == 403


def test_inbox_offers_reassign_to_teammates(csm_client, csm, teammate, customer):
    TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    html = csm_client.get(reverse("playbooks:inbox")).content.decode()
    assert "Tara Teammate" in html
    assert client_for(teammate).get(reverse("playbooks:inbox")).status_code == 200


def test_run_tasks_are_not_emailed_twice_but_ad_hoc_tasks_are(
    manager, manager_client, csm, customer, django_capture_on_commit_callbacks
):
    from django.core import mail

    playbook = PlaybookFactory()
    StepFactory.create_batch(2, playbook=playbook)
    with django_capture_on_commit_callbacks(execute=True):
        runs_create(playbook=playbook, rows=[NewRun(customer.pk, "by hand", {})], started_by=manager)
    assert len(mail.outbox) == 1  # the run's email, not one more per task
    with django_capture_on_commit_callbacks(execute=True):
        add(manager_client, customer, csm)
    assert len(mail.outbox) == 2
    assert "was assigned to you" in mail.outbox[1].subject
