"""GET/POST /api/v1/playbook-runs/ (docs/api.md) with the permissions of
docs/architecture.md#roles-and-permissions and bounded queries."""

from __future__ import annotations

import pytest

from playbooks.models import Run
from playbooks.services import playbook_run_start
from tests.factories import CustomerFactory

from .conftest import make_playbook

URL = "/api/v1/playbook-runs/"


def test_list_runs_with_reason_and_tasks(csm_client, manager, customer, csm):
    playbook, _ = make_playbook("Rescue", steps=2)
    run = playbook_run_start(user=manager, playbook=playbook, customer=customer, note="Sponsor left")
    response = csm_client.get(URL, {"customer": customer.external_id, "status": "open"})
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == run.pk
    assert row["playbook"] == "Rescue"
    assert row["customer"] == customer.external_id
    assert row["assignee"] == csm.email
    assert row["reason"]["text"] == f"Started by {manager.full_name}: Sponsor left"
    assert row["reason"]["started_by"] == manager.email
    assert [t["title"] for t in row["tasks"]] == ["Rescue step 1", "Rescue step 2"]
    assert row["tasks"][0]["status"] == "open"


def test_list_filters_status(csm_client, manager, customer):
    playbook, _ = make_playbook()
    playbook_run_start(user=manager, playbook=playbook, customer=customer)
    assert csm_client.get(URL, {"status": "done"}).json()["results"] == []
    assert csm_client.get(URL, {"status": "bogus"}).status_code == 400
    assert csm_client.get(URL, {"status": "bogus"}).json() == {
        "status": "Must be one of open, done, cancelled."
    }
    assert csm_client.get(URL, {"status": " open"}).status_code == 400  # values are not stripped
    assert csm_client.get(URL, {"status": ""}).json()["count"] == 1


def test_list_filters_customer(csm_client, manager, customer, other_customer):
    playbook, _ = make_playbook()
    playbook_run_start(user=manager, playbook=playbook, customer=customer)
    assert csm_client.get(URL, {"customer": customer.external_id}).json()["count"] == 1
    assert csm_client.get(URL, {"customer": other_customer.external_id}).json()["count"] == 0
    assert csm_client.get(URL, {"customer": f" {customer.external_id}"}).json()["count"] == 0
    assert csm_client.get(URL, {"customer": "NOPE"}).json()["results"] == []


@pytest.mark.parametrize("n", [2, 25])
def test_list_query_count_is_bounded(admin_client, admin_user, csm, n, django_assert_max_num_queries):
    playbook, _ = make_playbook(steps=3)
    for _ in range(n):
        playbook_run_start(user=admin_user, playbook=playbook, customer=CustomerFactory(csm=csm))
    with django_assert_max_num_queries(6):
        response = admin_client.get(URL)
    assert response.json()["count"] == n


def test_manager_starts_a_run(manager_client, customer, csm):
    playbook, _ = make_playbook("Rescue")
    response = manager_client.post(
        URL, {"playbook": playbook.pk, "customer": customer.external_id}, "application/json"
    )
    assert response.status_code == 201
    assert response.json()["assignee"] == csm.email
    again = manager_client.post(
        URL, {"playbook": "Rescue", "customer": customer.external_id}, "application/json"
    )
    assert again.status_code == 409
    assert again.json()["run"] == response.json()["id"]
    assert Run.objects.count() == 1


def test_start_validation_errors(manager_client, customer):
    response = manager_client.post(URL, {"playbook": "Nope", "customer": "missing"}, "application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"playbook", "customer"}
    assert not Run.objects.exists()


def test_csm_cannot_start_runs(csm_client, customer):
    playbook, _ = make_playbook()
    response = csm_client.post(
        URL, {"playbook": playbook.pk, "customer": customer.external_id}, "application/json"
    )
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_manager_cannot_start_outside_their_teams(manager_client, other_customer):
    playbook, _ = make_playbook()
    body = {"playbook": playbook.pk, "customer": other_customer.external_id}
    assert manager_client.post(URL, body, "application/json").status_code == 403
    assert not Run.objects.exists()


def test_token_auth_and_anonymous(anonymous, admin_user, customer):
    from accounts.tokens import api_token_create

    assert anonymous.get(URL).status_code in (401, 403)
    _, key = api_token_create(user=admin_user, name="test")
    playbook, _ = make_playbook()
    response = anonymous.post(
        URL,
        {"playbook": playbook.pk, "customer": customer.external_id},
        "application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 201
