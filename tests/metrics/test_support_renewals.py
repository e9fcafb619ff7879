"""Support and renewal metrics (docs/metrics.md) through the API on hand-computed data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory, RenewalFactory, TicketFactory

pytestmark = pytest.mark.django_db


def at(value: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(value))


def test_support_hand_computed(csm_client, customer, other_customer):
    TicketFactory(
        customer=customer,
        opened_at=at("2024-03-01 09:00"),
        resolved_at=at("2024-03-01 11:00"),
        first_contact_resolution=True,
    )
    TicketFactory(
        customer=customer,
        opened_at=at("2024-02-28 09:00"),
        resolved_at=at("2024-03-02 13:00"),
        first_contact_resolution=False,
    )  # opened before, resolved in: 76 h
    TicketFactory(customer=customer, opened_at=at("2024-03-10 09:00"), resolved_at=at("2024-03-10 15:00"))
    TicketFactory(customer=customer, opened_at=at("2024-03-20 09:00"))  # still open
    TicketFactory(customer=customer, opened_at=at("2024-03-30 09:00"), resolved_at=at("2024-04-02 09:00"))
    TicketFactory(
        customer=other_customer,
        opened_at=at("2024-03-05 09:00"),
        resolved_at=at("2024-03-05 10:00"),
        first_contact_resolution=True,
    )
    url = "/api/v1/metrics/support/?start=2024-03-01&end=2024-03-31"
    body = csm_client.get(url + f"&customer={customer.external_id}").json()
    assert body == {
        "tickets_opened": 4,
        "tickets_resolved": 3,
        "open_tickets": 2,  # 03-20, and 03-30 (resolved only in April)
        "avg_resolution_hours": round((2 + 76 + 6) / 3, 2),
        "first_contact_resolution_rate": 0.5,  # 1 of the 2 where it is known
    }
    everyone = csm_client.get(url).json()
    assert everyone["tickets_resolved"] == 4
    assert everyone["first_contact_resolution_rate"] == round(2 / 3, 4)
    empty = csm_client.get("/api/v1/metrics/support/?start=2020-01-01&end=2020-01-31").json()
    assert empty["avg_resolution_hours"] is None
    assert empty["first_contact_resolution_rate"] is None


def test_renewals_4m_example(csm_client):
    customers = [CustomerFactory() for _ in range(50)]
    due = dt.date(2024, 6, 30)
    for c in customers[:2]:  # 2 churn worth $500k
        RenewalFactory(customer=c, due_date=due, arr_due=Decimal("250000"), outcome="churned")
    for c in customers[2:5]:  # 3 downgrade by $300k in all
        RenewalFactory(
            customer=c,
            due_date=due,
            arr_due=Decimal("200000"),
            outcome="renewed",
            renewed_arr=Decimal("100000"),
        )
    for c in customers[5:49]:
        RenewalFactory(
            customer=c, due_date=due, arr_due=Decimal("64000"), outcome="renewed", renewed_arr=None
        )
    last = RenewalFactory(
        customer=customers[49],
        due_date=due,
        arr_due=Decimal("84000"),
        outcome="renewed",
        renewed_arr=Decimal("84000"),
    )
    url = "/api/v1/metrics/renewals/?start=2024-06-01&end=2024-06-30"
    body = csm_client.get(url).json()
    assert body["arr_due"] == "4000000.00"
    assert body["renewals_due"] == 50
    assert (body["renewed"], body["churned"], body["pending"]) == (48, 2, 0)
    assert body["logo_renewal_rate"] == 0.96
    assert body["gross_renewal_rate"] == 0.8
    assert body["net_renewal_rate"] == 0.8
    last.renewed_arr = Decimal("684000")  # $600k of upsell
    last.save()
    body = csm_client.get(url).json()
    assert body["net_renewal_rate"] == 0.95
    assert body["gross_renewal_rate"] == 0.8  # upsell is capped


def test_pending_renewals_count_but_do_not_rate(csm, csm_client):
    mine = CustomerFactory(csm=csm)
    RenewalFactory(customer=mine, due_date=dt.date(2024, 6, 1), arr_due=1000, outcome="pending")
    body = csm_client.get(f"/api/v1/metrics/renewals/?start=2024-06-01&end=2024-06-30&csm={csm.email}").json()
    assert body["renewals_due"] == 1
    assert body["pending"] == 1
    assert body["arr_due"] == "1000.00"
    assert body["logo_renewal_rate"] is None
    assert body["gross_renewal_rate"] is None


@pytest.mark.parametrize("endpoint", ["revenue", "support", "renewals"])
def test_metric_query_counts_are_constant(endpoint, csm_client, django_assert_max_num_queries):
    for size in (2, 40):
        for _ in range(size):
            c = CustomerFactory()
            TicketFactory(customer=c, opened_at=at("2024-03-01 09:00"), resolved_at=at("2024-03-02 09:00"))
            RenewalFactory(customer=c, due_date=dt.date(2024, 3, 15), outcome="renewed")
        with django_assert_max_num_queries(7):
            response = csm_client.get(f"/api/v1/metrics/{endpoint}/?start=2024-03-01&end=2024-03-31")
            assert response.status_code == 200


@pytest.mark.parametrize("endpoint", ["revenue", "support", "renewals", "engagement"])
def test_anonymous_cannot_read_metrics(endpoint, anonymous):
    response = anonymous.get(f"/api/v1/metrics/{endpoint}/?start=2024-03-01&end=2024-03-31")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("client_name", ["csm_client", "manager_client", "admin_client"])
def test_every_role_reads_metrics(client_name, request):
    client = request.getfixturevalue(client_name)
    for endpoint in ("revenue", "support", "renewals"):
        assert client.get(f"/api/v1/metrics/{endpoint}/?start=2024-03-01&end=2024-03-31").status_code == 200
