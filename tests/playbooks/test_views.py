"""Screens: My tasks (htmx complete/skip, constant queries), run page, team tasks, library, triggers, assign,
customer panel — with the docs/architecture.md#roles-and-permissions denials."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from playbooks.models import Playbook, Run, RunStatus, Task, TaskStatus, Trigger
from playbooks.services import playbook_run_start, runs_cancel
from tests.factories import CustomerFactory, RunFactory, TaskFactory

from .conftest import make_playbook


def open_tasks(user, customer, n: int, *, start_days: int = -3):
    """n open tasks for `user` spread over n runs (one playbook each), due from `start_days` on."""
    playbooks = Playbook.objects.bulk_create(Playbook(name=f"PB {customer.pk}-{i}") for i in range(n))
    runs = Run.objects.bulk_create(
        Run(playbook=p, customer=customer, assignee=user, reason="Bulk") for p in playbooks
    )
    today = timezone.localdate()
    return Task.objects.bulk_create(
        Task(run=r, title=f"Task {i}", assignee=user, due_date=today + dt.timedelta(days=start_days + i % 7))
        for i, r in enumerate(runs)
    )


# --- My tasks -------------------------------------------------------------------------------------


def test_inbox_groups_overdue_today_upcoming(csm_client, csm, customer):
    today = timezone.localdate()
    run = RunFactory(customer=customer, assignee=csm, reason="Health entered red")
    TaskFactory(run=run, title="Late one", due_date=today - dt.timedelta(days=2))
    TaskFactory(run=run, title="Today one", due_date=today)
    TaskFactory(run=run, title="Later one", due_date=today + dt.timedelta(days=5))
    TaskFactory(run=run, title="Finished", due_date=today, status=TaskStatus.DONE)
    response = csm_client.get("/tasks/")
    assert response.status_code == 200
    inbox = response.context["inbox"]
    assert [t.title for t in inbox.overdue] == ["Late one"]
    assert [t.title for t in inbox.today] == ["Today one"]
    assert [t.title for t in inbox.upcoming] == ["Later one"]
    assert b"Finished" not in response.content
    assert b"Health entered red" in response.content


@pytest.mark.parametrize("n", [5, 500])
def test_inbox_query_count_is_constant(csm_client, csm, customer, n, django_assert_max_num_queries):
    open_tasks(csm, customer, n)
    with django_assert_max_num_queries(6):
        response = csm_client.get("/tasks/")
    assert response.context["inbox"].total == n


def test_complete_task_with_htmx(csm_client, csm, customer):
    run = RunFactory(customer=customer, assignee=csm)
    task = TaskFactory(run=run)
    TaskFactory(run=run)
    response = csm_client.post(f"/tasks/{task.pk}/complete/", {"note": "Called them"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"task-row--finished" in response.content
    assert b"Called them" in response.content
    task.refresh_from_db()
    assert (task.status, task.note, task.completed_by) == (TaskStatus.DONE, "Called them", csm)


def test_completing_a_task_updates_the_my_tasks_header_and_says_so(csm_client, csm, customer):
    today = timezone.localdate()
    run = RunFactory(customer=customer, assignee=csm)
    late = TaskFactory(run=run, title="Call the sponsor", due_date=today - dt.timedelta(days=3))
    TaskFactory(run=run, due_date=today - dt.timedelta(days=1))
    TaskFactory(run=run, due_date=today + dt.timedelta(days=4))
    page = csm_client.get("/tasks/").content.decode()
    assert "3 open tasks from playbooks" in page
    assert '<span class="delta--down">2 overdue</span>' in page
    response = csm_client.post(f"/tasks/{late.pk}/complete/", {"note": ""}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    header = body[body.index('id="inbox-counts"') :]
    assert 'hx-swap-oob="true"' in header.split(">")[0]
    assert "2 open tasks from playbooks" in header
    assert '<span class="delta--down">1 overdue</span>' in header
    assert '<span class="card__subtitle" id="count-overdue" hx-swap-oob="true">1</span>' in body
    assert json.loads(response["HX-Trigger"]) == {
        "toast": {"message": "“Call the sponsor” done.", "kind": "success"}
    }


def test_a_refused_skip_has_no_success_toast(csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm))
    response = csm_client.post(f"/tasks/{task.pk}/skip/", {"note": ""}, HTTP_HX_REQUEST="true")
    assert "HX-Trigger" not in response


def test_skip_without_note_shows_the_error(csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm))
    response = csm_client.post(f"/tasks/{task.pk}/skip/", {"note": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Say why the task is skipped." in response.content
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_complete_without_js_redirects(csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm))
    response = csm_client.post(f"/tasks/{task.pk}/complete/", {"note": "", "next": "/tasks/"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_csm_cannot_work_another_csms_task(other_csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm))
    response = other_csm_client.post(f"/tasks/{task.pk}/complete/", {"note": "mine now"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_other_manager_cannot_work_the_task(client, other_manager, csm, customer):
    client.force_login(other_manager)
    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm))
    assert client.post(f"/tasks/{task.pk}/complete/", {}).status_code == 403


def test_anonymous_is_sent_to_login(anonymous):
    assert anonymous.get("/tasks/").status_code == 302
    assert anonymous.get("/playbooks/").status_code == 302


def test_notification_preference(csm_client, csm):
    csm_client.post("/tasks/notifications/", {"mode": "digest"})
    assert csm.playbook_notification_preference.mode == "digest"


# --- run page -------------------------------------------------------------------------------------


def test_run_page_shows_progress_reason_and_health(csm_client, csm, customer, manager):
    customer.health_score, customer.health_band = 35, "red"
    customer.save()
    playbook, _ = make_playbook("Rescue", steps=2)
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer, note="Sponsor left")
    Task.objects.filter(run=run, order=1).update(
        status=TaskStatus.DONE, completed_at=timezone.now(), completed_by=csm
    )
    response = csm_client.get(f"/playbooks/runs/{run.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 of 2 tasks" in body
    assert "Sponsor left" in body
    assert ">35</span> Red" in body  # whole points, as on every page (core.numbers.format_health)
    assert "Red" in body
    assert response.context["progress"] == 50


def test_run_can_be_closed_by_assignee_not_by_others(csm_client, other_csm_client, csm, customer, manager):
    playbook, _ = make_playbook()
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer)
    data = {"status": "cancelled", "outcome_note": "Not needed"}
    assert other_csm_client.post(f"/playbooks/runs/{run.pk}/", data).status_code == 403
    response = csm_client.post(f"/playbooks/runs/{run.pk}/", {"status": "done", "outcome_note": ""})
    assert response.status_code == 200  # form error, nothing written
    run.refresh_from_db()
    assert run.status == RunStatus.OPEN
    assert csm_client.post(f"/playbooks/runs/{run.pk}/", data).status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_missing_run_is_404(csm_client):
    assert csm_client.get("/playbooks/runs/999999/").status_code == 404


# --- team tasks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 30])
def test_team_tasks_counts_per_csm(manager_client, csm, customer, n, django_assert_max_num_queries):
    open_tasks(csm, customer, n, start_days=-3)
    with django_assert_max_num_queries(5):
        response = manager_client.get("/tasks/team/")
    assert response.status_code == 200
    rows = {r.email: r for r in response.context["rows"]}
    assert rows[csm.email].open_count == n
    assert rows[csm.email].overdue_count == sum(1 for i in range(n) if i % 7 < 3)
    assert "other.csm@example.com" not in rows


def test_team_tasks_is_for_managers(csm_client):
    assert csm_client.get("/tasks/team/").status_code == 403


# --- library --------------------------------------------------------------------------------------


def test_library_shows_counts(manager_client, csm, customer):
    playbook, trigger = make_playbook("Rescue", condition="band_entered", params={"band": "red"})
    RunFactory(playbook=playbook, customer=customer, trigger=trigger, status=RunStatus.DONE)
    RunFactory(playbook=playbook, customer=customer, trigger=trigger)
    response = manager_client.get("/playbooks/")
    assert response.status_code == 200
    entry = response.context["playbooks"][0]
    assert (entry.runs_total, entry.runs_open, entry.runs_done) == (2, 1, 1)
    assert b"fired 2" in response.content


def test_library_is_for_managers(csm_client):
    assert csm_client.get("/playbooks/").status_code == 403
    assert csm_client.post("/playbooks/new/", {"name": "x"}).status_code == 403


def test_create_playbook_with_steps(manager_client):
    data = {
        "name": "Exec sponsor change",
        "purpose": "New sponsor",
        "enabled": "on",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "1",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-title": "Meet the new sponsor",
        "steps-0-due_after_days": "5",
        "steps-0-required_touchpoint_kind": "meeting",
        "steps-1-title": "",
        "steps-1-due_after_days": "",
    }
    response = manager_client.post("/playbooks/new/", data)
    assert response.status_code == 302
    playbook = Playbook.objects.get(name="Exec sponsor change")
    assert list(playbook.steps.values_list("title", "due_after_days", "required_touchpoint_kind")) == [
        ("Meet the new sponsor", 5, "meeting")
    ]


def test_playbook_form_errors(manager_client):
    data = {
        "name": "",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-0-title": "",
        "steps-0-due_after_days": "-3",
    }
    response = manager_client.post("/playbooks/new/", data)
    assert response.status_code == 200
    assert not Playbook.objects.exists()


def test_trigger_params_are_validated(manager_client):
    playbook, _ = make_playbook()
    url = f"/playbooks/{playbook.pk}/triggers/new/"
    response = manager_client.post(
        url, {"condition": "usage_drop", "p_percent": "250", "p_min_events": "20", "cooldown_days": "30"}
    )
    assert response.status_code == 200
    assert "p_percent" in response.context["form"].errors
    assert not Trigger.objects.exists()
    response = manager_client.post(
        url,
        {
            "condition": "usage_drop",
            "p_percent": "40",
            "p_min_events": "20",
            "cooldown_days": "30",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    trigger = Trigger.objects.get()
    assert trigger.params == {"percent": 40, "min_events": 20}


def test_trigger_form_shows_the_conditions_parameters(manager_client):
    playbook, _ = make_playbook()
    response = manager_client.post(
        f"/playbooks/{playbook.pk}/triggers/new/",
        {"condition": "renewal_due", "change": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b'name="p_days"' in response.content
    assert b"<html" not in response.content


# --- assign ---------------------------------------------------------------------------------------


def test_manager_bulk_assigns_filtered_customers(manager_client, csm, customer):
    playbook, _ = make_playbook()
    red = CustomerFactory(csm=csm, health_band="red", health_score=20)
    CustomerFactory(csm=csm, health_band="green", health_score=90)
    response = manager_client.post("/playbooks/assign/?band=red", {"playbook": playbook.pk, "scope": "all"})
    assert response.status_code == 200  # the confirmation step first: nothing started yet
    assert not Run.objects.exists()
    assert response.context["count"] == 1
    confirmed = {"playbook": playbook.pk, "scope": "all", "confirm": "yes", "expected": "1"}
    response = manager_client.post("/playbooks/assign/?band=red", confirmed)
    assert response.status_code == 302
    assert list(Run.objects.values_list("customer", flat=True)) == [red.pk]


def test_start_for_all_matching_asks_first_and_names_who_already_has_it(manager_client, csm):
    playbook, _ = make_playbook("Rescue")
    CustomerFactory(csm=csm, name="Beta New")
    RunFactory(playbook=playbook, customer=CustomerFactory(csm=csm, name="Acme Open"), assignee=csm)
    response = manager_client.post("/playbooks/assign/", {"playbook": playbook.pk, "scope": "all"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Start “Rescue” for 2 customers?" in body
    assert "Acme Open" in body.split('data-testid="already-open"')[1].split("</p>")[0]
    assert Run.objects.count() == 1
    # A count that no longer matches what was confirmed asks again instead of starting.
    stale = {"playbook": playbook.pk, "scope": "all", "confirm": "yes", "expected": "5"}
    again = manager_client.post("/playbooks/assign/", stale)
    assert again.status_code == 200
    assert "changed since you asked" in again.content.decode()
    assert Run.objects.count() == 1
    done = manager_client.post("/playbooks/assign/", {**stale, "expected": "2"}, follow=True).content.decode()
    assert Run.objects.count() == 2
    assert "Started “Rescue” for 1 customer; already open for Acme Open." in done


def test_undo_cancels_the_runs_of_the_last_bulk_start_only(manager_client, csm):
    playbook, _ = make_playbook("Rescue")
    earlier = RunFactory(playbook=playbook, customer=CustomerFactory(csm=csm), assignee=csm)
    customers = [CustomerFactory(csm=csm) for _ in range(3)]
    manager_client.post(
        "/playbooks/assign/",
        {"playbook": playbook.pk, "scope": "selected", "customers": [c.pk for c in customers]},
    )
    page = manager_client.get("/playbooks/assign/").content.decode()
    assert "Undo: cancel 3 runs" in page
    undone = manager_client.post("/playbooks/assign/undo/", follow=True).content.decode()
    assert "Cancelled “Rescue” for 3 customers." in undone
    assert Run.objects.filter(status=RunStatus.CANCELLED).count() == 3
    assert not Task.objects.filter(run__status=RunStatus.CANCELLED, status=TaskStatus.OPEN).exists()
    earlier.refresh_from_db()
    assert earlier.status == RunStatus.OPEN
    assert "Undo" not in manager_client.get("/playbooks/assign/").content.decode()
    assert "Nothing to undo." in manager_client.post("/playbooks/assign/undo/", follow=True).content.decode()


def test_undo_needs_the_right_to_close_those_runs(csm, other_csm, admin_user):
    playbook, _ = make_playbook("Rescue")
    theirs = RunFactory(playbook=playbook, customer=CustomerFactory(csm=other_csm), assignee=other_csm)
    with pytest.raises(PermissionDenied):
        runs_cancel(user=csm, run_ids=[theirs.pk], outcome_note="no")
    assert runs_cancel(user=admin_user, run_ids=[theirs.pk], outcome_note="Undone") == 1
    assert runs_cancel(user=admin_user, run_ids=[theirs.pk], outcome_note="Undone") == 0


def test_bulk_assign_selected_ignores_customers_outside_the_team(manager_client, customer, other_customer):
    playbook, _ = make_playbook()
    manager_client.post(
        "/playbooks/assign/",
        {"playbook": playbook.pk, "scope": "selected", "customers": [customer.pk, other_customer.pk]},
    )
    assert list(Run.objects.values_list("customer", flat=True)) == [customer.pk]


@pytest.mark.parametrize("n", [3, 40])
def test_assign_page_query_count(manager_client, csm, n, django_assert_max_num_queries):
    for _ in range(n):
        CustomerFactory(csm=csm)
    with django_assert_max_num_queries(10):
        response = manager_client.get("/playbooks/assign/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == n


def test_csm_cannot_assign(csm_client, customer):
    playbook, _ = make_playbook()
    assert csm_client.get("/playbooks/assign/").status_code == 403
    assert (
        csm_client.post(f"/playbooks/assign/{customer.external_id}/", {"playbook": playbook.pk}).status_code
        == 403
    )
    assert not Run.objects.exists()


def test_manager_assigns_from_the_customer_page(manager_client, customer, other_customer):
    playbook, _ = make_playbook()
    page = manager_client.get(f"/customers/{customer.external_id}/")
    assert b"Start playbook" in page.content
    response = manager_client.post(f"/playbooks/assign/{customer.external_id}/", {"playbook": playbook.pk})
    run = Run.objects.get()
    assert response["Location"] == f"/playbooks/runs/{run.pk}/"
    again = manager_client.post(f"/playbooks/assign/{customer.external_id}/", {"playbook": playbook.pk})
    assert again.status_code == 302
    assert Run.objects.count() == 1
    assert (
        manager_client.post(
            f"/playbooks/assign/{other_customer.external_id}/", {"playbook": playbook.pk}
        ).status_code
        == 403
    )


def test_customer_panel_lists_open_runs(csm_client, csm, customer, manager):
    playbook, _ = make_playbook("Rescue")
    playbook_run_start(user=manager, playbook=playbook, customer=customer)
    page = csm_client.get(f"/customers/{customer.external_id}/")
    body = page.content.decode()
    assert "Rescue step 1" in body
    assert "Start playbook" not in body  # CSMs cannot assign


def test_admin_pages_render(admin_client, admin_user, manager, customer):
    admin_user.is_superuser = True  # Django's admin also checks model permissions
    admin_user.save()
    playbook, _ = make_playbook(condition="renewal_due", params={"days": 90})
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer)
    for url in (
        "/admin/playbooks/playbook/",
        f"/admin/playbooks/playbook/{playbook.pk}/change/",
        "/admin/playbooks/run/",
        f"/admin/playbooks/run/{run.pk}/change/",
        "/admin/playbooks/notificationpreference/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_completing_on_the_run_page_refreshes_its_progress(csm_client, csm, customer, manager):
    playbook, _ = make_playbook(steps=2)
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer)
    page = csm_client.get(f"/playbooks/runs/{run.pk}/").content.decode()
    assert 'name="in_run"' in page
    task = run.tasks.order_by("order").first()
    response = csm_client.post(
        f"/tasks/{task.pk}/complete/", {"note": "ok", "in_run": "1"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert 'id="run-progress-tile" hx-swap-oob="true"' in body
    assert "1 of 2 tasks" in body


def test_customer_panel_query_count_does_not_grow_with_runs(
    manager_client, manager, customer, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    playbooks = [make_playbook(f"P{i}", steps=3)[0] for i in range(8)]
    playbook_run_start(user=manager, playbook=playbooks[0], customer=customer)
    with CaptureQueriesContext(connection) as small:
        manager_client.get(customer.get_absolute_url())
    for playbook in playbooks[1:]:
        playbook_run_start(user=manager, playbook=playbook, customer=customer)
    with django_assert_max_num_queries(len(small)):
        response = manager_client.get(customer.get_absolute_url())
    assert response.content.decode().count("P7 step") == 3
