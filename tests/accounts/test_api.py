"""REST API v1 for accounts (docs/architecture.md#roles-and-permissions and docs/api.md): ingestion, customer
reads, touchpoints and pulses."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Contact, Customer, Pulse, Touchpoint
from accounts.tokens import api_token_create
from core.ingest import bulk_upsert
from tests.factories import ContactFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
CONTACTS = "/api/v1/contacts/"
TOUCHPOINTS = "/api/v1/touchpoints/"
PULSES = "/api/v1/pulses/"


def post(client: Client, url: str, data, **extra):
    return client.post(url, data, content_type="application/json", **extra)


def customer_rows(n: int, **extra) -> list[dict]:
    return [{"external_id": f"EXT-{i:05d}", "name": f"Acme {i}", **extra} for i in range(n)]


# --- Permissions ---


@pytest.mark.parametrize("url", [CUSTOMERS, CONTACTS])
def test_ingestion_is_admin_only(url, csm_client, manager_client, anonymous, customer):
    row = (
        {"external_id": "X-1", "name": "X"}
        if url == CUSTOMERS
        else {"customer": "NW-1", "email": "a@b.example"}
    )
    assert post(csm_client, url, row).status_code == 403
    assert post(manager_client, url, row).status_code == 403
    assert post(anonymous, url, row).status_code == 401
    assert not Customer.objects.filter(external_id="X-1").exists()
    assert not Contact.objects.exists()


def test_anonymous_cannot_read_or_log(anonymous, customer):
    assert anonymous.get(CUSTOMERS).status_code == 401
    assert anonymous.get(f"{CUSTOMERS}NW-1/").status_code == 401
    assert post(anonymous, TOUCHPOINTS, touchpoint_data()).status_code == 401
    assert post(anonymous, PULSES, {"customer": "NW-1", "score": 4}).status_code == 401
    assert not Touchpoint.objects.exists()
    assert not Pulse.objects.exists()


def test_inactive_users_token_is_refused(csm, customer):
    _, key = api_token_create(user=csm, name="test")
    csm.is_active = False
    csm.save()
    response = Client().get(CUSTOMERS, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401


def test_token_auth_reads_customers(csm, customer):
    _, key = api_token_create(user=csm, name="test")
    response = Client().get(CUSTOMERS, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert [c["external_id"] for c in response.json()["results"]] == ["NW-1"]
    assert Client().get(CUSTOMERS, HTTP_AUTHORIZATION="Token not-a-real-key").status_code == 401


def test_admin_token_can_ingest(admin_user):
    _, key = api_token_create(user=admin_user, name="test")
    response = post(
        Client(), CUSTOMERS, {"external_id": "T-1", "name": "Tok"}, HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}


# --- Customer ingestion ---


def test_post_one_object_creates_customer(admin_client, csm):
    response = post(
        admin_client,
        CUSTOMERS,
        {
            "external_id": "ACME-1",
            "name": "Acme",
            "segment": "Enterprise",
            "csm_email": "CSM@example.com",
            "licenses": 250,
            "contract_start": "2025-01-15",
            "go_live_date": "2025-03-01",
            "renewal_date": "2026-01-14",
            "lifecycle_stage": "adopting",
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    acme = Customer.objects.get(external_id="ACME-1")
    assert (acme.name, acme.segment, acme.csm, acme.licenses) == ("Acme", "Enterprise", csm, 250)
    assert (acme.contract_start, acme.go_live_date, acme.renewal_date) == (
        dt.date(2025, 1, 15),
        dt.date(2025, 3, 1),
        dt.date(2026, 1, 14),
    )
    assert acme.lifecycle_stage == "adopting"


def test_same_list_twice_is_unchanged_the_second_time(admin_client, csm):
    rows = customer_rows(20, segment="SMB", csm_email=csm.email, licenses=10, renewal_date="2026-06-30")
    first = post(admin_client, CUSTOMERS, rows)
    second = post(admin_client, CUSTOMERS, rows)
    assert first.json() == {"created": 20, "updated": 0, "unchanged": 0}
    assert second.json() == {"created": 0, "updated": 0, "unchanged": 20}
    assert Customer.objects.count() == 20


def test_partial_object_updates_only_its_fields(admin_client, csm):
    original = CustomerFactory(
        external_id="P-1",
        name="Partial Co",
        segment="SMB",
        csm=csm,
        licenses=40,
        renewal_date=dt.date(2026, 5, 1),
    )
    before = original.updated_at
    response = post(admin_client, CUSTOMERS, [{"external_id": "P-1", "name": "Partial Co", "licenses": 55}])
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    original.refresh_from_db()
    assert original.licenses == 55
    assert (original.segment, original.csm, original.renewal_date) == ("SMB", csm, dt.date(2026, 5, 1))
    assert original.updated_at > before


def test_every_field_updates_on_many_rows(admin_client, csm, other_csm):
    originals = CustomerFactory.create_batch(120, csm=csm, segment="SMB", lifecycle_stage="onboarding")
    rows = [
        {
            "external_id": c.external_id,
            "name": f"Renamed {i} O'Brien ünïcode",
            "segment": "Enterprise",
            "csm_email": other_csm.email,
            "licenses": 1000 + i,
            "contract_start": "2023-02-01",
            "go_live_date": None,
            "renewal_date": f"2027-01-{1 + i % 28:02d}",
            "lifecycle_stage": "mature",
        }
        for i, c in enumerate(originals)
    ]
    assert post(admin_client, CUSTOMERS, rows).json() == {"created": 0, "updated": 120, "unchanged": 0}
    for i, c in enumerate(Customer.objects.order_by("external_id")):
        assert (c.name, c.segment, c.csm, c.licenses) == (
            f"Renamed {i} O'Brien ünïcode",
            "Enterprise",
            other_csm,
            1000 + i,
        )
        assert (c.contract_start, c.go_live_date, c.renewal_date) == (
            dt.date(2023, 2, 1),
            None,
            dt.date(2027, 1, 1 + i % 28),
        )
        assert c.lifecycle_stage == "mature"
    assert post(admin_client, CUSTOMERS, rows).json() == {"created": 0, "updated": 0, "unchanged": 120}


def test_null_csm_email_unassigns_and_blank_dates_clear(admin_client, csm):
    CustomerFactory(external_id="U-1", csm=csm, renewal_date=dt.date(2026, 5, 1))
    response = post(
        admin_client, CUSTOMERS, {"external_id": "U-1", "name": "U", "csm_email": None, "renewal_date": None}
    )
    assert response.json()["updated"] == 1
    assert Customer.objects.filter(external_id="U-1", csm=None, renewal_date=None).exists()


def test_update_and_create_in_one_list(admin_client):
    CustomerFactory(external_id="EXT-00000", name="Old name")
    CustomerFactory(external_id="EXT-00001", name="Acme 1")
    response = post(admin_client, CUSTOMERS, customer_rows(3))
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1}
    assert Customer.objects.get(external_id="EXT-00000").name == "Acme 0"


def test_ten_thousand_customers_in_one_request(admin_client, csm, other_csm):
    rows = customer_rows(10_000, segment="SMB", licenses=5, renewal_date="2026-06-30")
    for i, row in enumerate(rows):
        row["csm_email"] = csm.email if i % 2 else other_csm.email
    start = time.perf_counter()
    response = post(admin_client, CUSTOMERS, rows)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200
    assert response.json() == {"created": 10_000, "updated": 0, "unchanged": 0}
    assert Customer.objects.filter(csm=csm).count() == 5_000
    print(f"\n10,000 customers created in {elapsed:.2f}s")
    assert elapsed < 30  # a generous ceiling for slow CI machines; see the report for typical timings


def test_ten_thousand_and_one_rows_are_refused(admin_client):
    response = post(admin_client, CUSTOMERS, customer_rows(10_001))
    assert response.status_code == 400
    assert "10,000" in response.json()["errors"][0]["message"]
    assert not Customer.objects.exists()


def test_bad_row_in_list_names_row_and_field_and_writes_nothing(admin_client):
    rows = customer_rows(6)
    rows[3]["licenses"] = -1
    response = post(admin_client, CUSTOMERS, rows)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [
        {"row": 3, "field": "licenses", "message": "Ensure this value is greater than or equal to 0."}
    ]
    assert "nothing was written" in body["detail"]
    assert not Customer.objects.exists()


def test_unknown_csm_email_is_a_row_error_and_writes_nothing(admin_client, csm):
    CustomerFactory(external_id="EXT-00000", name="Keep me")
    rows = customer_rows(5, csm_email=csm.email)
    rows[3]["csm_email"] = "nobody@example.com"
    response = post(admin_client, CUSTOMERS, rows)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (3, "csm_email")
    assert "nobody@example.com" in error["message"]
    assert list(Customer.objects.values_list("external_id", "name")) == [("EXT-00000", "Keep me")]


def test_inactive_csm_email_is_a_row_error(admin_client):
    UserFactory(email="gone@example.com", is_active=False)
    response = post(
        admin_client, CUSTOMERS, {"external_id": "A", "name": "A", "csm_email": "gone@example.com"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "csm_email"


def test_csm_emails_are_resolved_in_one_query(admin_client, csm, other_csm):
    rows = customer_rows(300)
    for i, row in enumerate(rows):
        row["csm_email"] = [csm.email, other_csm.email][i % 2]
    with CaptureQueriesContext(connection) as ctx:
        assert post(admin_client, CUSTOMERS, rows).json()["created"] == 300
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    # The session, the signed-in user, the CSM emails, the existing customers: never a query per row.
    # (INSERTs come in batches whose size depends on the database's parameter limit.)
    assert len(selects) == 4, selects
    assert sum('LOWER("accounts_user"."email")' in sql for sql in selects) == 1


def test_duplicate_external_id_in_one_list_is_refused(admin_client):
    rows = customer_rows(4)
    rows.append({"external_id": "EXT-00001", "name": "Again"})
    response = post(admin_client, CUSTOMERS, rows)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 4, "field": "external_id", "message": "Duplicate of row 1 in this request."}
    ]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("body", ['"just a string"', "42", "null", "[]", "[1, 2]", '{"external_id": "x"'])
def test_bodies_that_are_not_objects_are_400(admin_client, body):
    response = admin_client.post(CUSTOMERS, body, content_type="application/json")
    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_form_encoded_body_is_unsupported(admin_client):
    response = admin_client.post(CUSTOMERS, {"external_id": "F", "name": "F"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("licenses", "many"),
        ("licenses", 1.5),
        ("renewal_date", "31/12/2026"),
        ("lifecycle_stage", "thriving"),
        ("csm_email", "not-an-email"),
        ("name", ""),
        ("external_id", "x" * 101),
    ],
)
def test_invalid_fields_are_named(admin_client, field, value):
    row = {"external_id": "V-1", "name": "Valid", field: value}
    response = post(admin_client, CUSTOMERS, [row])
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, field)]


def test_missing_required_fields_are_named(admin_client):
    response = post(admin_client, CUSTOMERS, [{"segment": "SMB"}])
    assert {e["field"] for e in response.json()["errors"]} == {"external_id", "name"}


# --- Contact ingestion ---


def test_contacts_upsert_on_customer_and_email(admin_client, customer, other_customer):
    rows = [
        {"customer": "NW-1", "email": "Ann@Northwind.example", "name": "Ann", "title": "COO"},
        {"customer": "NW-1", "email": "bob@northwind.example"},
        {"customer": "SP-1", "email": "ann@northwind.example", "name": "Ann (consultant)"},
    ]
    assert post(admin_client, CONTACTS, rows).json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert post(admin_client, CONTACTS, rows).json() == {"created": 0, "updated": 0, "unchanged": 3}
    update = [{"customer": "NW-1", "email": "ann@northwind.example", "title": "CEO"}]
    assert post(admin_client, CONTACTS, update).json() == {"created": 0, "updated": 1, "unchanged": 0}
    ann = Contact.objects.get(customer=customer, email="ann@northwind.example")
    assert (ann.name, ann.title) == ("Ann", "CEO")
    assert customer.contacts.count() == 2


def test_contact_with_unknown_customer_is_a_row_error(admin_client, customer):
    rows = [{"customer": "NW-1", "email": f"c{i}@x.example"} for i in range(4)]
    rows[2]["customer"] = "NOPE"
    response = post(admin_client, CONTACTS, rows)
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(2, "customer")]
    assert not Contact.objects.exists()


def test_duplicate_contact_in_one_list_is_refused(admin_client, customer):
    rows = [{"customer": "NW-1", "email": "a@x.example"}, {"customer": "NW-1", "email": "A@x.example"}]
    response = post(admin_client, CONTACTS, rows)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "row": 1,
        "field": "email",
        "message": "Duplicate of row 0 in this request.",
    }


def test_ten_thousand_contacts(admin_client):
    CustomerFactory.create_batch(100)
    external_ids = list(Customer.objects.values_list("external_id", flat=True))
    rows = [
        {"customer": external_ids[i % 100], "email": f"p{i}@x.example", "name": f"P {i}"}
        for i in range(10_000)
    ]
    assert post(admin_client, CONTACTS, rows).json() == {"created": 10_000, "updated": 0, "unchanged": 0}
    assert post(admin_client, CONTACTS, rows).json() == {"created": 0, "updated": 0, "unchanged": 10_000}


# --- Customer reads ---


def test_any_signed_in_user_reads_every_customer(csm_client, manager_client, customer, other_customer):
    for client in (csm_client, manager_client):
        response = client.get(CUSTOMERS)
        assert response.status_code == 200
        assert {c["external_id"] for c in response.json()["results"]} == {"NW-1", "SP-1"}
    assert csm_client.get(f"{CUSTOMERS}SP-1/").status_code == 200


def test_customer_detail_fields(csm_client, customer, csm):
    ContactFactory.create_batch(3, customer=customer)
    response = csm_client.get(f"{CUSTOMERS}NW-1/")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "external_id": "NW-1",
        "name": "Northwind Traders",
        "segment": "Mid-Market",
        "csm": "csm@example.com",
        "csm_name": "Casey Csm",
        "licenses": customer.licenses,
        "contract_start": "2024-01-15",
        "go_live_date": "2024-02-20",
        "renewal_date": customer.renewal_date.isoformat(),
        "lifecycle_stage": "adopting",
        "contacts_count": 3,
        "health_score": None,
        "health_band": None,
        "health_change_7d": None,
        "health_as_of": None,
    }


def test_customer_shows_latest_health(csm_client, customer):
    Customer.objects.filter(pk=customer.pk).update(
        health_score=Decimal("72.5"),
        health_band="green",
        health_change_7d=Decimal("-3.0"),
        health_as_of=dt.date(2026, 1, 2),
    )
    body = csm_client.get(f"{CUSTOMERS}NW-1/").json()
    assert (body["health_score"], body["health_band"], body["health_change_7d"], body["health_as_of"]) == (
        "72.5",
        "green",
        "-3.0",
        "2026-01-02",
    )


def test_customer_without_csm_reads_null(csm_client):
    CustomerFactory(external_id="ORPHAN", csm=None)
    body = csm_client.get(f"{CUSTOMERS}ORPHAN/").json()
    assert (body["csm"], body["csm_name"], body["contacts_count"]) == (None, None, 0)


def test_unknown_customer_is_404(csm_client):
    assert csm_client.get(f"{CUSTOMERS}NOPE/").status_code == 404


def test_customer_filters(csm_client, csm, other_csm):
    CustomerFactory(external_id="A-1", name="Alpha", csm=csm, segment="SMB", lifecycle_stage="onboarding")
    CustomerFactory(external_id="B-1", name="Beta", csm=csm, segment="Enterprise", lifecycle_stage="mature")
    CustomerFactory(external_id="G-1", name="Gamma", csm=other_csm, segment="SMB", lifecycle_stage="mature")

    def ids(**params):
        response = csm_client.get(CUSTOMERS, params)
        assert response.status_code == 200
        return [c["external_id"] for c in response.json()["results"]]

    assert ids() == ["A-1", "B-1", "G-1"]
    assert ids(csm="CSM@example.com") == ["A-1", "B-1"]
    assert ids(segment="smb") == ["A-1", "G-1"]
    assert ids(lifecycle_stage="mature") == ["B-1", "G-1"]
    assert ids(search="amm") == ["G-1"]
    assert ids(search="b-1") == ["B-1"]
    assert ids(csm=other_csm.email, segment="SMB", lifecycle_stage="mature") == ["G-1"]
    assert csm_client.get(CUSTOMERS, {"lifecycle_stage": "thriving"}).status_code == 400


def test_customer_list_is_paginated(csm_client):
    CustomerFactory.create_batch(7)
    body = csm_client.get(CUSTOMERS, {"page_size": 3, "page": 3}).json()
    assert body["count"] == 7
    assert len(body["results"]) == 1
    assert body["next"] is None


@pytest.mark.parametrize("size", [5, 60])
def test_customer_list_query_count_is_constant(
    csm_client, csm, other_csm, size, django_assert_max_num_queries
):
    for i in range(size):
        customer = CustomerFactory(csm=[csm, other_csm, None][i % 3])
        ContactFactory.create_batch(2, customer=customer)
    # session, user, count, page: the same at any size.
    with django_assert_max_num_queries(4):
        response = csm_client.get(CUSTOMERS)
    assert response.json()["count"] == size
    assert {c["contacts_count"] for c in response.json()["results"]} == {2}


# --- Touchpoints and pulses ---


def touchpoint_data(customer: str = "NW-1", **extra) -> dict:
    occurred = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    return {
        "customer": customer,
        "kind": "call",
        "occurred_at": occurred,
        "summary": "Renewal check-in.",
        **extra,
    }


def test_csm_logs_touchpoint_on_own_customer(csm_client, csm, customer):
    response = post(csm_client, TOUCHPOINTS, touchpoint_data(sentiment="positive"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["customer"], body["kind"], body["sentiment"], body["author"]) == (
        "NW-1",
        "call",
        "positive",
        csm.email,
    )
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.customer, touchpoint.author) == (customer, csm)


def test_csm_cannot_log_touchpoint_on_other_book(csm_client, other_customer):
    response = post(csm_client, TOUCHPOINTS, touchpoint_data("SP-1"))
    assert response.status_code == 403
    assert not Touchpoint.objects.exists()


def test_manager_logs_on_team_customer_but_not_other_team(manager_client, customer, other_customer):
    assert post(manager_client, TOUCHPOINTS, touchpoint_data("NW-1")).status_code == 201
    assert post(manager_client, TOUCHPOINTS, touchpoint_data("SP-1")).status_code == 403
    assert post(manager_client, PULSES, {"customer": "NW-1", "score": 3}).status_code == 201
    assert post(manager_client, PULSES, {"customer": "SP-1", "score": 3}).status_code == 403
    assert list(Touchpoint.objects.values_list("customer__external_id", flat=True)) == ["NW-1"]
    assert list(Pulse.objects.values_list("customer__external_id", flat=True)) == ["NW-1"]


def test_admin_logs_on_any_customer(admin_client, customer, other_customer):
    assert post(admin_client, TOUCHPOINTS, touchpoint_data("SP-1")).status_code == 201
    assert post(admin_client, PULSES, {"customer": "SP-1", "score": 5}).status_code == 201


def test_naive_touchpoint_time_is_in_time_zone(settings, csm_client, customer):
    settings.TIME_ZONE = "Europe/Paris"
    response = post(csm_client, TOUCHPOINTS, touchpoint_data(occurred_at="2025-01-15T10:00:00"))
    assert response.status_code == 201
    assert Touchpoint.objects.get().occurred_at == dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": ""}, "kind"),
        ({"kind": "telepathy"}, "kind"),
        ({"summary": ""}, "summary"),
        ({"sentiment": "ecstatic"}, "sentiment"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"customer": "NOPE"}, "customer"),
    ],
)
def test_invalid_touchpoint_is_400_with_field(csm_client, customer, change, field):
    response = post(csm_client, TOUCHPOINTS, touchpoint_data(**change))
    assert response.status_code == 400
    assert field in response.json()
    assert not Touchpoint.objects.exists()


def test_touchpoint_more_than_a_day_ahead_is_refused(csm_client, customer):
    ahead = (timezone.now() + dt.timedelta(days=2)).isoformat()
    response = post(csm_client, TOUCHPOINTS, touchpoint_data(occurred_at=ahead))
    assert response.status_code == 400
    assert "future" in response.json()["occurred_at"][0]


def test_missing_kind_is_refused(csm_client, customer):
    data = touchpoint_data()
    del data["kind"]
    assert post(csm_client, TOUCHPOINTS, data).json() == {"kind": ["This field is required."]}


def test_touchpoint_list_body_is_400(csm_client, customer):
    assert post(csm_client, TOUCHPOINTS, [touchpoint_data()]).status_code == 400


def test_csm_logs_pulse(csm_client, csm, customer):
    response = post(csm_client, PULSES, {"customer": "NW-1", "score": 2, "note": "Sponsor left."})
    assert response.status_code == 201
    body = response.json()
    assert (body["score"], body["author"], body["note"]) == (2, csm.email, "Sponsor left.")
    assert body["rubric"].startswith("Poor")
    assert Pulse.objects.get().author == csm


@pytest.mark.parametrize("score", [0, 6, "high", None])
def test_pulse_score_out_of_range_is_400(csm_client, customer, score):
    response = post(csm_client, PULSES, {"customer": "NW-1", "score": score})
    assert response.status_code == 400
    assert "score" in response.json()
    assert not Pulse.objects.exists()


def test_csm_cannot_log_pulse_on_other_book(csm_client, other_customer):
    assert post(csm_client, PULSES, {"customer": "SP-1", "score": 4}).status_code == 403
    assert not Pulse.objects.exists()


# --- OpenAPI ---


def test_schema_documents_the_endpoints(csm_client):
    response = csm_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/customers/", "/api/v1/customers/{external_id}/", "/api/v1/contacts/"):
        assert path in paths
    assert set(paths["/api/v1/customers/"]) == {"get", "post"}
    assert "/api/v1/touchpoints/" in paths
    assert "/api/v1/pulses/" in paths


def test_schema_lists_the_query_parameters_of_the_read_endpoints(csm_client):
    paths = csm_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    def query(path: str, method: str = "get") -> dict[str, bool]:
        params = paths[path][method].get("parameters", [])
        return {p["name"]: p.get("required", False) for p in params if p["in"] == "query"}

    period = {"start": True, "end": True, "csm": False, "segment": False, "customer": False}
    assert query("/api/v1/customers/") == dict.fromkeys(
        ["csm", "lifecycle_stage", "page", "page_size", "search", "segment"], False
    )
    assert query("/api/v1/playbook-runs/") == {"customer": False, "page": False, "status": False}
    assert query("/api/v1/playbook-runs/", "post") == {}
    for metric in ("revenue", "support", "renewals"):
        assert query(f"/api/v1/metrics/{metric}/") == period
    assert query("/api/v1/metrics/engagement/") == {"customer": True, "as_of": False}
    assert query("/api/v1/metrics/surveys/") == {
        "kind": True,
        "start": False,
        "end": False,
        "csm": False,
        "segment": False,
    }
    assert query("/api/v1/metrics/team/") == {"start": True, "end": True}
    assert query("/api/v1/customers/{external_id}/health/history/") == {
        "days": False,
        "from": False,
        "to": False,
    }
    status = next(p for p in paths["/api/v1/playbook-runs/"]["get"]["parameters"] if p["name"] == "status")
    assert sorted(status["schema"]["enum"]) == ["cancelled", "done", "open"]


def test_docs_page_uses_local_static_files(csm_client):
    response = csm_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs"):
        assert cdn not in html


def test_bulk_upsert_compares_foreign_keys_without_a_query_per_row(customer, django_assert_max_num_queries):
    # Rows may carry model instances for foreign keys, as other apps' services pass them (core.ingest).
    rows = [{"customer": customer, "email": f"p{i}@x.example", "name": "P"} for i in range(300)]
    Contact.objects.bulk_create(Contact(**r) for r in rows)
    rows[7] = {**rows[7], "name": "Changed"}
    with django_assert_max_num_queries(5):  # lookup, savepoint + release around the insert, one update
        result = bulk_upsert(model=Contact, rows=rows, key_fields=["customer", "email"])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 299)
    assert Contact.objects.get(email="p7@x.example").name == "Changed"


def test_openapi_schema_generates_without_warnings(tmp_path):
    # The whole API, not only accounts: a new view without a serializer or with a colliding enum fails here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/customers/" in (tmp_path / "schema.yaml").read_text()


def test_schema_and_docs_need_a_login(anonymous):
    assert anonymous.get("/api/schema/").status_code == 401
    docs = anonymous.get("/api/docs/")  # a page for people: to the login page, back to the docs after
    assert docs.status_code == 302
    assert docs["Location"] == "/login/?next=/api/docs/"


def test_admin_navigation_links_to_api_docs_and_django_admin(admin_client, csm_client):
    page = admin_client.get("/").content.decode()
    assert 'href="/api/docs/">API docs</a>' in page
    assert 'href="/admin/">Django admin</a>' in page
    csm_page = csm_client.get("/").content.decode()
    assert "API docs</a>" not in csm_page
    assert "Django admin</a>" not in csm_page
