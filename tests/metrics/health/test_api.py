"""GET /api/v1/customers/<external_id>/health/ and /health/history/ (docs/api.md): shape, reads for anyone
signed in, 404, validation and constant query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.health.services import health_model_current, health_recompute
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory

from .conftest import at, usage

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def seed_history(customer, days: int) -> None:
    usage(customer, users=5, day=TODAY - dt.timedelta(days=40))
    usage(customer, users=3, day=TODAY - dt.timedelta(days=2))
    PulseFactory(customer=customer, score=4, created_at=at(TODAY - dt.timedelta(days=days + 1)))
    TouchpointFactory(customer=customer, occurred_at=at(TODAY - dt.timedelta(days=days + 1)))
    TicketFactory(customer=customer, priority="high", opened_at=at(TODAY - dt.timedelta(days=3)))
    # A ticket feed over the whole history (docs/health.md#missing-is-not-perfect): support load is read.
    TicketFactory(
        customer=customer,
        opened_at=at(TODAY - dt.timedelta(days=days + 2)),
        resolved_at=at(TODAY - dt.timedelta(days=days + 1)),
    )
    for back in range(days, -1, -1):
        health_recompute(day=TODAY - dt.timedelta(days=back))


def test_health_shape(customer, other_csm):
    seed_history(customer, 30)
    body = api(other_csm).get(f"/api/v1/customers/{customer.external_id}/health/").json()
    assert set(body) == {"as_of", "score", "band", "model_version", "components", "change_7d", "change_30d"}
    assert body["as_of"] == TODAY.isoformat()
    model = health_model_current()  # the version in force (migrations install the default, v2)
    assert body["model_version"] == model.version
    assert body["band"] in {"green", "yellow", "red"}
    assert len(body["components"]) == model.factors.count()
    assert set(body["components"][0]) == {"factor", "raw_value", "score", "weight", "contribution"}
    total = sum(c["contribution"] for c in body["components"])
    assert round(total, 1) == float(body["score"])
    by = {c["factor"]: c for c in body["components"]}
    assert by["nps"]["raw_value"] is None  # no survey answers: missing
    assert by["support_load"]["raw_value"] == 2.0
    assert body["change_7d"] is not None
    assert body["change_30d"] is not None


def test_health_of_a_customer_never_computed_is_empty(customer, csm):
    body = api(csm).get(f"/api/v1/customers/{customer.external_id}/health/").json()
    assert body == {
        "as_of": None,
        "score": None,
        "band": None,
        "model_version": None,
        "components": [],
        "change_7d": None,
        "change_30d": None,
    }


def test_history_has_one_point_per_day(customer, manager):
    seed_history(customer, 10)
    response = api(manager).get(f"/api/v1/customers/{customer.external_id}/health/history/?days=5")
    assert response.status_code == 200
    points = response.json()
    assert [p["date"] for p in points] == [
        (TODAY - dt.timedelta(days=i)).isoformat() for i in range(4, -1, -1)
    ]
    assert set(points[0]) == {"date", "score", "band"}
    default = api(manager).get(f"/api/v1/customers/{customer.external_id}/health/history/").json()
    assert len(default) == 11


@pytest.mark.parametrize("days", ["0", "abc", "-3", "10000"])
def test_history_rejects_bad_days(customer, csm, days):
    response = api(csm).get(f"/api/v1/customers/{customer.external_id}/health/history/?days={days}")
    assert response.status_code == 400
    assert "days" in response.json()


@pytest.mark.parametrize("suffix", ["health/", "health/history/"])
def test_unknown_customer_is_404_and_anonymous_is_refused(csm, suffix):
    assert api(csm).get(f"/api/v1/customers/NOPE/{suffix}").status_code == 404
    CustomerFactory(external_id="YES-1")
    assert api().get(f"/api/v1/customers/YES-1/{suffix}").status_code in (401, 403)


@pytest.mark.parametrize("days", [3, 40])
def test_query_counts_do_not_grow_with_history(customer, csm, days, django_assert_max_num_queries):
    seed_history(customer, days)
    client = api(csm)
    with django_assert_max_num_queries(3):
        assert client.get(f"/api/v1/customers/{customer.external_id}/health/").status_code == 200
    with django_assert_max_num_queries(2):
        response = client.get(f"/api/v1/customers/{customer.external_id}/health/history/?days=90")
    assert len(response.json()) == days + 1
