"""GET /api/v1/health-snapshots/?date= and /customers/<external_id>/health/history/?from=&to=
(docs/api.md#health): shape, filters, validation naming the field, and query counts that do not grow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from metrics.health.services import health_model_current
from metrics.models import HealthSnapshot
from tests.factories import CustomerFactory

from .conftest import DAY

pytestmark = pytest.mark.django_db

SNAPSHOTS = "/api/v1/health-snapshots/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def snapshots(customers, days) -> None:
    """A snapshot of each customer on each day: score = 50 + day of month, green; "" band on day 1."""
    model = health_model_current()
    HealthSnapshot.objects.bulk_create(
        HealthSnapshot(
            customer=c,
            date=d,
            score=None if d.day == 1 else Decimal(50 + d.day),
            band="" if d.day == 1 else "green",
            model=model,
        )
        for c in customers
        for d in days
    )


def history(customer, query: str):
    return api(customer.csm).get(f"/api/v1/customers/{customer.external_id}/health/history/?{query}")


# --- Snapshots of a day ------------------------------------------------------------------------------------


def test_snapshots_of_a_day_for_anyone_signed_in(customer, other_customer, other_csm):
    snapshots([customer, other_customer], [DAY - dt.timedelta(days=1), DAY])
    version = health_model_current().version
    response = api(other_csm).get(f"{SNAPSHOTS}?date={DAY.isoformat()}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["results"] == [
        {
            "customer": "NW-1",
            "date": DAY.isoformat(),
            "score": "80.0",
            "band": "green",
            "model_version": version,
        },
        {
            "customer": "SP-1",
            "date": DAY.isoformat(),
            "score": "80.0",
            "band": "green",
            "model_version": version,
        },
    ]
    assert api().get(f"{SNAPSHOTS}?date={DAY.isoformat()}").status_code in (401, 403)


def test_a_snapshot_without_score_answers_nulls(customer, csm):
    snapshots([customer], [dt.date(2026, 7, 1)])
    body = api(csm).get(f"{SNAPSHOTS}?date=2026-07-01").json()
    assert body["results"] == [
        {
            "customer": "NW-1",
            "date": "2026-07-01",
            "score": None,
            "band": None,
            "model_version": health_model_current().version,
        }
    ]


def test_snapshots_filter_by_csm_and_segment(customer, other_customer, csm):
    snapshots([customer, other_customer], [DAY])
    client = api(csm)

    def customers(query: str) -> list[str]:
        return [r["customer"] for r in client.get(f"{SNAPSHOTS}?date={DAY}&{query}").json()["results"]]

    assert customers("csm=CSM@example.com") == ["NW-1"]
    assert customers("segment=smb") == ["SP-1"]
    assert customers("csm=csm@example.com&segment=SMB") == []
    assert customers("csm=nobody@example.com") == []


@pytest.mark.parametrize("query", ["", "date=", "date=2026-02-30", "date=yesterday"])
def test_snapshots_need_a_valid_date(csm, query):
    response = api(csm).get(f"{SNAPSHOTS}?{query}")
    assert response.status_code == 400
    assert "date" in response.json()


def test_snapshots_are_paginated(csm):
    customers = CustomerFactory.create_batch(105)
    snapshots(customers, [DAY])
    client = api(csm)
    first = client.get(f"{SNAPSHOTS}?date={DAY}").json()
    assert first["count"] == 105
    assert len(first["results"]) == 100
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5
    assert {r["customer"] for r in first["results"] + second["results"]} == {c.external_id for c in customers}


@pytest.mark.parametrize("size", [3, 60])
def test_snapshots_query_count_is_constant(csm, size, django_assert_num_queries):
    customers = CustomerFactory.create_batch(size, csm=csm)
    snapshots(customers, [DAY - dt.timedelta(days=1), DAY])
    client = api(csm)
    with django_assert_num_queries(2):  # COUNT for the page, then the page
        body = client.get(f"{SNAPSHOTS}?date={DAY}&csm={csm.email}&segment=SMB").json()
    assert body["count"] == size


# --- History with from/to ----------------------------------------------------------------------------------


def test_history_from_to_is_inclusive(customer):
    snapshots([customer], [dt.date(2026, 5, d) for d in range(1, 32)])
    points = history(customer, "from=2026-05-10&to=2026-05-12").json()
    assert points == [
        {"date": "2026-05-10", "score": "60.0", "band": "green"},
        {"date": "2026-05-11", "score": "61.0", "band": "green"},
        {"date": "2026-05-12", "score": "62.0", "band": "green"},
    ]
    one_day = history(customer, "from=2026-05-01&to=2026-05-01").json()
    assert one_day == [{"date": "2026-05-01", "score": None, "band": None}]


def test_history_to_alone_goes_back_days_and_from_alone_runs_to_today(customer):
    snapshots([customer], [dt.date(2026, 5, d) for d in range(1, 32)])
    assert [p["date"] for p in history(customer, "to=2026-05-31&days=3").json()] == [
        "2026-05-29",
        "2026-05-30",
        "2026-05-31",
    ]
    assert len(history(customer, "to=2026-05-31").json()) == 31  # days defaults to 90
    assert len(history(customer, "from=2026-05-20").json()) == 12


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-05-10&to=2026-05-09", "from"),
        ("from=2099-01-01", "from"),
        ("from=2016-01-01&to=2026-01-08", "from"),  # 3661 days
        ("from=2026-13-01", "from"),
        ("to=nope", "to"),
        ("from=2026-05-01&days=5", "days"),
        ("to=2026-05-01&days=0", "days"),
    ],
)
def test_history_rejects_bad_ranges_naming_the_field(customer, query, field):
    response = history(customer, query)
    assert response.status_code == 400
    assert field in response.json()


def test_history_accepts_the_longest_range(customer):
    snapshots([customer], [dt.date(2016, 1, 1), dt.date(2026, 1, 6)])
    assert len(history(customer, "from=2016-01-01&to=2026-01-07").json()) == 2  # 3660 days


@pytest.mark.parametrize("days", [3, 40])
def test_history_range_query_count_does_not_grow(customer, days, django_assert_max_num_queries):
    snapshots([customer], [DAY - dt.timedelta(days=i) for i in range(days)])
    with django_assert_max_num_queries(2):
        response = history(customer, f"from={DAY - dt.timedelta(days=100)}&to={DAY}")
    assert len(response.json()) == days
