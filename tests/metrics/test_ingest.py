"""Ingestion endpoints (docs/api.md): idempotent upserts, bad input writes nothing, admins only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from metrics.models import MrrEntry, Renewal, Ticket, UsageDaily, UsageEvent, UsageUserDay

pytestmark = pytest.mark.django_db


def post(client, url, payload):
    return client.post(url, payload, content_type="application/json")


def test_mrr_upsert_is_idempotent(admin_client, customer):
    row = {"customer": customer.external_id, "effective_date": "2024-01-01", "mrr": "100.00"}
    assert post(admin_client, "/api/v1/mrr/", [row]).json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert post(admin_client, "/api/v1/mrr/", [row]).json() == {"created": 0, "updated": 0, "unchanged": 1}
    changed = {**row, "mrr": "120"}
    assert post(admin_client, "/api/v1/mrr/", changed).json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert MrrEntry.objects.get().mrr == Decimal("120.00")


def test_mrr_bad_row_writes_nothing(admin_client, customer):
    rows = [
        {"customer": customer.external_id, "effective_date": "2024-01-01", "mrr": "100"},
        {"customer": customer.external_id, "effective_date": "2024-02-01", "mrr": "-5"},
        {"customer": "NOPE", "effective_date": "2024-03-01", "mrr": "5"},
        {"customer": customer.external_id, "effective_date": "2024-01-01", "mrr": "7"},
    ]
    response = post(admin_client, "/api/v1/mrr/", rows)
    assert response.status_code == 400
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert (1, "mrr") in errors
    assert MrrEntry.objects.count() == 0
    rows[1]["mrr"] = "5"
    response = post(admin_client, "/api/v1/mrr/", rows)
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(2, "customer"), (3, "effective_date")}
    assert MrrEntry.objects.count() == 0


def test_tickets_and_renewals_upsert(admin_client, customer):
    ticket = {
        "external_id": "T-1",
        "customer": customer.external_id,
        "opened_at": "2024-01-01T09:00:00Z",
        "priority": "high",
    }
    assert post(admin_client, "/api/v1/tickets/", ticket).json()["created"] == 1
    resolved = {**ticket, "resolved_at": "2024-01-01T12:00:00Z", "first_contact_resolution": True}
    assert post(admin_client, "/api/v1/tickets/", resolved).json()["updated"] == 1
    assert Ticket.objects.get().resolution_hours == 3
    backwards = {**ticket, "resolved_at": "2023-12-31T12:00:00Z"}
    response = post(admin_client, "/api/v1/tickets/", backwards)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "resolved_at"

    renewal = {
        "customer": customer.external_id,
        "due_date": "2024-06-30",
        "arr_due": "12000",
        "outcome": "pending",
    }
    assert post(admin_client, "/api/v1/renewals/", renewal).json()["created"] == 1
    done = {**renewal, "outcome": "renewed", "renewed_arr": "13000.50"}
    assert post(admin_client, "/api/v1/renewals/", done).json()["updated"] == 1
    assert Renewal.objects.get().renewed_arr == Decimal("13000.50")
    bad = {**renewal, "outcome": "maybe"}
    assert post(admin_client, "/api/v1/renewals/", bad).status_code == 400


def events(customer, n, start=0, day="2024-03-01"):
    return [
        {
            "event_id": f"ev-{i}",
            "customer": customer.external_id,
            "user_id": f"u{i % 3}",
            "feature": "reports" if i % 2 else "export",
            "occurred_at": f"{day}T{10 + i % 5:02d}:00:00Z",
            "quantity": 1 + i % 2,
        }
        for i in range(start, start + n)
    ]


def rollup_totals():
    return sorted(UsageDaily.objects.values_list("user_id", "feature", "day", "events", "quantity"))


def test_usage_events_reposting_does_not_double_count(admin_client, customer):
    first = post(admin_client, "/api/v1/usage-events/", events(customer, 10))
    assert first.json() == {"accepted": 10, "duplicates": 0}
    before = rollup_totals()
    assert sum(r[3] for r in before) == 10
    assert sum(r[4] for r in before) == 15
    again = post(admin_client, "/api/v1/usage-events/", events(customer, 10))
    assert again.json() == {"accepted": 0, "duplicates": 10}
    assert rollup_totals() == before
    overlap = post(admin_client, "/api/v1/usage-events/", events(customer, 10, start=5))
    assert overlap.json() == {"accepted": 5, "duplicates": 5}
    assert UsageEvent.objects.count() == 15
    assert sum(r[3] for r in rollup_totals()) == 15
    assert sum(UsageUserDay.objects.values_list("events", flat=True)) == 15
    assert UsageUserDay.objects.count() == 3  # u0, u1, u2 on one day


def test_usage_event_repeated_in_one_request_counts_once(admin_client, customer):
    batch = events(customer, 3)
    response = post(admin_client, "/api/v1/usage-events/", [*batch, batch[0]])
    assert response.json() == {"accepted": 3, "duplicates": 1}
    assert sum(r[3] for r in rollup_totals()) == 3


def test_usage_event_day_is_local_to_time_zone(admin_client, customer, settings):
    settings.TIME_ZONE = "America/New_York"
    one = {
        "event_id": "tz-1",
        "customer": customer.external_id,
        "user_id": "u",
        "feature": "f",
        "occurred_at": "2024-03-02T03:00:00Z",  # 22:00 on March 1st in New York
    }
    assert post(admin_client, "/api/v1/usage-events/", one).json() == {"accepted": 1, "duplicates": 0}
    assert UsageDaily.objects.get().day == dt.date(2024, 3, 1)


def test_usage_events_bad_rows_write_nothing(admin_client, customer):
    batch = events(customer, 4)
    batch[1]["quantity"] = 0
    batch[2]["occurred_at"] = "yesterday"
    batch[3]["customer"] = "NOPE"
    del batch[0]["user_id"]
    response = post(admin_client, "/api/v1/usage-events/", [*batch, "oops"])
    assert response.status_code == 400
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(0, "user_id"), (1, "quantity"), (2, "occurred_at"), (4, "non_field_errors")}
    assert UsageEvent.objects.count() == 0


def test_usage_event_unknown_customer_is_a_row_error(admin_client, customer):
    batch = events(customer, 3)
    batch[2]["customer"] = "NOPE"
    response = post(admin_client, "/api/v1/usage-events/", batch)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 2, "field": "customer", "message": "No customer has this external_id."}
    ]
    assert UsageEvent.objects.count() == 0
    assert UsageDaily.objects.count() == 0


def test_usage_events_empty_and_oversized_lists(admin_client):
    assert post(admin_client, "/api/v1/usage-events/", []).status_code == 400
    assert post(admin_client, "/api/v1/usage-events/", [{}] * 10_001).status_code == 400


@pytest.mark.parametrize(
    "url", ["/api/v1/mrr/", "/api/v1/usage-events/", "/api/v1/tickets/", "/api/v1/renewals/"]
)
def test_only_admins_ingest(url, csm_client, manager_client, anonymous, customer):
    row = {"customer": customer.external_id}
    assert post(csm_client, url, row).status_code == 403
    assert post(manager_client, url, row).status_code == 403
    assert post(anonymous, url, row).status_code in (401, 403)
    assert MrrEntry.objects.count() == UsageEvent.objects.count() == 0


def test_naive_occurred_at_is_in_time_zone(admin_client, customer, settings):
    settings.TIME_ZONE = "America/New_York"
    one = {
        "event_id": "tz-naive",
        "customer": customer.external_id,
        "user_id": "u",
        "feature": "f",
        "occurred_at": "2024-03-01T22:00:00",  # New York time: 03:00 UTC on March 2nd
    }
    assert post(admin_client, "/api/v1/usage-events/", one).json() == {"accepted": 1, "duplicates": 0}
    event = UsageEvent.objects.get()
    assert event.occurred_at == dt.datetime(2024, 3, 2, 3, 0, tzinfo=dt.UTC)
    assert UsageDaily.objects.get().day == dt.date(2024, 3, 1)
