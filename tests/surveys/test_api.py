"""Survey API (docs/api.md): campaigns, history import (admins), metrics; permissions and query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from surveys.models import Invitation, Response
from tests.factories import ContactFactory, CustomerFactory, ResponseFactory, UserFactory

CAMPAIGNS = "/api/v1/survey-campaigns/"
IMPORT = "/api/v1/survey-responses/"
METRICS = "/api/v1/metrics/surveys/"


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_manager_sends_campaign_by_external_ids(manager_client, customer, django_capture_on_commit_callbacks):
    ContactFactory(customer=customer)
    ContactFactory(customer=customer, unsubscribed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = post(manager_client, CAMPAIGNS, {"kind": "nps", "customers": ["NW-1"]})
    assert response.status_code == 201
    body = response.json()
    assert body["queued"] == 1
    assert body["skipped"] == {"churned": 0, "no_contacts": 0, "unsubscribed": 1, "throttled": 0}
    assert len(mail.outbox) == 1


def test_manager_sends_campaign_by_segment_only_within_their_teams(
    manager_client, customer, other_customer, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer)
    CustomerFactory(csm=other_customer.csm, segment="Mid-Market")  # another team's, same segment
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            manager_client, CAMPAIGNS, {"kind": "csat", "segment": "Mid-Market", "question": "Happy?"}
        )
    assert response.status_code == 201
    assert response.json()["queued"] == 1
    assert Invitation.objects.get().customer == customer


def test_csm_cannot_send_campaigns_through_the_api(csm_client, customer):
    ContactFactory(customer=customer)
    response = post(csm_client, CAMPAIGNS, {"kind": "nps", "customers": ["NW-1"]})
    assert response.status_code == 403
    assert Invitation.objects.count() == 0


def test_manager_cannot_survey_other_teams_customers_through_the_api(manager_client, other_customer):
    ContactFactory(customer=other_customer)
    response = post(manager_client, CAMPAIGNS, {"kind": "nps", "customers": ["SP-1"]})
    assert response.status_code == 403
    assert Invitation.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "xyz", "customers": ["NW-1"]}, "kind"),
        ({"kind": "nps"}, "non_field_errors"),
        ({"kind": "nps", "customers": ["NW-1"], "segment": "SMB"}, "non_field_errors"),
        ({"kind": "nps", "customers": ["NOPE"]}, "customers"),
        ({"kind": "nps", "segment": "Nobody"}, "segment"),
    ],
)
def test_bad_campaign_requests_are_400_with_field_messages(manager_client, customer, payload, field):
    response = post(manager_client, CAMPAIGNS, payload)
    assert response.status_code == 400
    assert field in response.json()
    assert Invitation.objects.count() == 0


def test_anonymous_cannot_use_the_survey_api(anonymous):
    assert post(anonymous, CAMPAIGNS, {"kind": "nps", "segment": "SMB"}).status_code in (401, 403)
    assert anonymous.get(METRICS, {"kind": "nps"}).status_code in (401, 403)


def history_row(**overrides):
    row = {
        "customer": "NW-1",
        "contact_email": "Pat@Northwind.example",
        "kind": "nps",
        "score": 4,
        "comment": "Too many outages.",
        "answered_at": "2026-05-04T10:00:00Z",
    }
    return {**row, **overrides}


def test_admin_imports_history_idempotently(admin_client, customer):
    contact = ContactFactory(customer=customer, email="pat@northwind.example")
    rows = [history_row(), history_row(kind="csat", score=5, comment="")]
    first = post(admin_client, IMPORT, rows)
    assert first.status_code == 200, first.json()
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = post(admin_client, IMPORT, [history_row(score=6), history_row(kind="csat", score=5, comment="")])
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 1}
    nps = Response.objects.get(kind="nps")
    assert (nps.score, nps.contact_id, nps.contact_email, nps.invitation_id) == (
        6,
        contact.pk,
        "pat@northwind.example",
        None,
    )


def test_history_import_rejects_bad_rows_and_writes_nothing(admin_client, customer):
    rows = [
        history_row(),
        history_row(score=11, answered_at="2026-05-05T10:00:00Z"),
        history_row(kind="ces", score=0),
        history_row(customer="UNKNOWN"),
        history_row(answered_at=(timezone.now() + dt.timedelta(days=5)).isoformat()),
        history_row(comment="x" * 2001, answered_at="2026-05-06T10:00:00Z"),
    ]
    response = post(admin_client, IMPORT, rows)
    assert response.status_code == 400
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert {(1, "score"), (2, "score"), (4, "answered_at"), (5, "comment")} <= errors
    assert Response.objects.count() == 0
    unknown = post(admin_client, IMPORT, [history_row(customer="UNKNOWN")])
    assert unknown.json()["errors"] == [
        {"row": 0, "field": "customer", "message": "No customer has this external_id."}
    ]


@pytest.mark.parametrize("client_name", ["csm_client", "manager_client"])
def test_history_import_is_admin_only(request, client_name, customer):
    response = post(request.getfixturevalue(client_name), IMPORT, [history_row()])
    assert response.status_code == 403
    assert Response.objects.count() == 0


def test_metrics_api_nps_with_filters(csm_client, customer, other_customer):
    now = timezone.now()
    for score in (10, 9, 8, 3):
        ResponseFactory(contact=ContactFactory(customer=customer), score=score, answered_at=now)
    ResponseFactory(contact=ContactFactory(customer=other_customer), score=0, answered_at=now)
    ResponseFactory(
        contact=ContactFactory(customer=customer), score=0, answered_at=now - dt.timedelta(days=400)
    )
    body = csm_client.get(METRICS, {"kind": "nps"}).json()
    assert (body["responses"], body["promoters"], body["passives"], body["detractors"]) == (5, 2, 1, 2)
    assert body["score"] == 0
    assert "satisfied" not in body
    mine = csm_client.get(METRICS, {"kind": "nps", "csm": "csm@example.com"}).json()
    assert (mine["responses"], mine["score"]) == (4, 25)
    smb = csm_client.get(METRICS, {"kind": "nps", "segment": "SMB"}).json()
    assert (smb["responses"], smb["score"]) == (1, -100)
    old = csm_client.get(METRICS, {"kind": "nps", "start": "2000-01-01", "end": "2000-12-31"}).json()
    assert (old["responses"], old["score"]) == (0, None)


def test_metrics_api_csat_and_ces(csm_client, customer):
    for score in (5, 4, 2):
        ResponseFactory(contact=ContactFactory(customer=customer), kind="csat", score=score)
    ResponseFactory(contact=ContactFactory(customer=customer), kind="ces", score=6)
    csat = csm_client.get(METRICS, {"kind": "csat"}).json()
    assert (csat["responses"], csat["satisfied"], round(csat["score"], 2)) == (3, 2, 66.67)
    assert "promoters" not in csat
    ces = csm_client.get(METRICS, {"kind": "ces"}).json()
    assert (ces["responses"], ces["score"]) == (1, 6.0)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "xyz"},
        {"kind": "nps", "start": "nope"},
        {"kind": "nps", "start": "2026-02-01", "end": "2026-01-01"},
    ],
)
def test_metrics_api_bad_query_is_400(csm_client, params):
    assert csm_client.get(METRICS, params).status_code == 400


@pytest.mark.parametrize("size", [5, 50])
def test_metrics_api_query_count_is_constant(csm_client, size, django_assert_max_num_queries):
    customer = CustomerFactory(csm=UserFactory())
    contacts = ContactFactory.create_batch(size, customer=customer)
    for contact in contacts:
        ResponseFactory(contact=contact, score=size % 11)
    with django_assert_max_num_queries(4):  # session, user, the aggregate
        assert csm_client.get(METRICS, {"kind": "nps"}).json()["responses"] == size
