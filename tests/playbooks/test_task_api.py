"""The tasks API (docs/api.md#tasks): add an ad-hoc task, snooze, reassign; the §3 matrix and bad input."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Team
from playbooks.models import Task
from tests.factories import RunFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

NEXT_WEEK = (timezone.localdate() + dt.timedelta(days=7)).isoformat()


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_csm_adds_a_task_for_themselves(csm_client, csm, customer):
    response = post(
        csm_client,
        reverse("api_tasks"),
        {"customer": customer.external_id, "title": "Call", "due_date": NEXT_WEEK, "assignee": csm.email},
    )
    assert response.status_code == 201, response.content
    assert response.json()["customer"] == customer.external_id
    assert response.json()["assignee"] == csm.email


def test_csm_cannot_add_on_another_book(csm_client, csm, other_customer):
    response = post(
        csm_client,
        reverse("api_tasks"),
        {
            "customer": other_customer.external_id,
            "title": "Call",
            "due_date": NEXT_WEEK,
            "assignee": csm.email,
        },
    )
    assert response.status_code == 403
    assert not Task.objects.exists()


def test_add_bad_input_is_400_with_fields(csm_client, customer):
    response = post(
        csm_client,
        reverse("api_tasks"),
        {"customer": "nope", "title": "", "due_date": "soon", "assignee": "ghost@example.com"},
    )
    assert response.status_code == 400
    assert {"customer", "title", "due_date", "assignee"} <= set(response.json())


def test_add_for_someone_outside_the_team_is_400(csm_client, customer, other_csm):
    response = post(
        csm_client,
        reverse("api_tasks"),
        {
            "customer": customer.external_id,
            "title": "Call",
            "due_date": NEXT_WEEK,
            "assignee": other_csm.email,
        },
    )
    assert response.status_code == 400
    assert "assignee" in response.json()


def test_snooze_and_reassign_by_the_assignee(csm_client, csm, customer):
    mate = UserFactory(role=Role.CSM, email="mate@example.com")
    Team.objects.get(name="Team North").members.add(mate)
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    response = post(csm_client, reverse("api_task_snooze", args=[task.pk]), {"until": NEXT_WEEK})
    assert response.status_code == 200
    assert response.json()["due_date"] == NEXT_WEEK
    response = post(csm_client, reverse("api_task_reassign", args=[task.pk]), {"assignee": mate.email})
    assert response.status_code == 200
    assert response.json()["assignee"] == mate.email


def test_snooze_and_reassign_denied_to_other_csm(other_csm_client, csm, other_csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert (
        post(other_csm_client, reverse("api_task_snooze", args=[task.pk]), {"until": NEXT_WEEK}).status_code
        == 403
    )
    assert (
        post(
            other_csm_client, reverse("api_task_reassign", args=[task.pk]), {"assignee": other_csm.email}
        ).status_code
        == 403
    )
    task.refresh_from_db()
    assert task.assignee == csm


def test_snooze_bad_date_is_400(csm_client, csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    assert (
        post(csm_client, reverse("api_task_snooze", args=[task.pk]), {"until": "2020-01-01"}).status_code
        == 400
    )
    assert post(csm_client, reverse("api_task_snooze", args=[task.pk]), {}).status_code == 400


def test_unknown_task_is_404_and_anonymous_is_refused(csm_client, anonymous):
    assert (
        post(csm_client, reverse("api_task_snooze", args=[999999]), {"until": NEXT_WEEK}).status_code == 404
    )
    assert post(anonymous, reverse("api_tasks"), {}).status_code in (401, 403)
