"""Engagement (docs/metrics.md) through `GET /api/v1/metrics/engagement/` on hand-computed data."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from metrics.models import ValueMilestone
from metrics.services import usage_events_ingest
from tests.factories import CustomerFactory, KeyFeatureFactory

pytestmark = pytest.mark.django_db
_ids = itertools.count()


def use(customer, *events: tuple[str, str, str]) -> None:
    """events: (user_id, feature, "YYYY-MM-DD")"""
    rows = [
        {
            "event_id": f"{customer.external_id}-{next(_ids)}",
            "customer": customer.external_id,
            "user_id": user,
            "feature": feature,
            "occurred_at": dt.datetime.fromisoformat(f"{day}T12:00:00+00:00"),
            "quantity": 1,
        }
        for user, feature, day in events
    ]
    usage_events_ingest(rows=rows)


def get(client, customer, as_of):
    response = client.get(f"/api/v1/metrics/engagement/?customer={customer.external_id}&as_of={as_of}")
    assert response.status_code == 200, response.content
    return response.json()


def test_hand_computed_dataset(csm_client):
    KeyFeatureFactory(name="dashboards")
    c = CustomerFactory(licenses=20, contract_start=dt.date(2023, 12, 1), go_live_date=dt.date(2024, 1, 10))
    use(
        c,
        ("u5", "export", "2024-01-01"),  # active 01-01..01-30 only
        ("u6", "export", "2024-02-05"),  # alone (u5 expired): 1 active user, below 10 % of 20
        ("u4", "export", "2024-03-01"),  # with u6 (active until 03-05): 2 of 20 = 10 % on 03-01
        ("u3", "reports", "2024-03-02"),
        ("u2", "export", "2024-03-15"),
        ("u1", "reports", "2024-03-30"),
        ("u1", "reports", "2024-03-31"),
        ("u1", "export", "2024-03-31"),
    )
    body = get(csm_client, c, "2024-03-31")
    assert body["licenses"] == 20
    assert body["users_total"] == 6
    assert body["active_users_30d"] == 3  # u1, u2, u3 (window 03-02..03-31)
    assert body["license_utilization"] == 0.15
    assert body["product_adoption_rate"] == 0.5
    # distinct users per day summed over the window: u1 x2, u2 x1, u3 x1 = 4; 4 / 30 / 3
    assert body["dau_mau"] == round(4 / 30 / 3, 4)
    assert body["feature_adoption"] == {
        "reports": round(2 / 6, 4),
        "export": round(2 / 6, 4),
        "dashboards": 0.0,
    }
    assert body["days_to_onboard"] == 40
    assert body["time_to_value_days"] == 91  # 2024-03-01 - 2023-12-01


def test_ten_percent_needs_overlapping_users(csm_client):
    c = CustomerFactory(licenses=20, contract_start=dt.date(2024, 1, 1))
    use(c, ("a", "f", "2024-01-01"), ("b", "f", "2024-01-31"))  # a expired on 01-31
    assert get(csm_client, c, "2024-02-15")["time_to_value_days"] is None
    use(c, ("c", "f", "2024-02-20"))
    assert get(csm_client, c, "2024-02-25")["time_to_value_days"] == 50  # 02-20, b still active


def test_time_to_value_45_days_from_usage_or_milestone(csm_client, csm):
    c = CustomerFactory(licenses=10, contract_start=dt.date(2024, 1, 15), csm=csm)
    use(c, ("u", "f", "2024-02-29"))
    assert get(csm_client, c, "2024-03-31")["time_to_value_days"] == 45
    d = CustomerFactory(licenses=0, contract_start=dt.date(2024, 1, 15), csm=csm)
    ValueMilestone.objects.create(customer=d, achieved_on=dt.date(2024, 2, 29), author=csm)
    assert get(csm_client, d, "2024-03-31")["time_to_value_days"] == 45
    assert get(csm_client, d, "2024-02-28")["time_to_value_days"] is None
    # The earlier of usage and milestone wins.
    ValueMilestone.objects.create(customer=c, achieved_on=dt.date(2024, 2, 1), author=csm)
    assert get(csm_client, c, "2024-03-31")["time_to_value_days"] == 17


def test_adoption_examples_500_of_1000_and_200_of_500(csm_client):
    c = CustomerFactory(licenses=2000)
    events = [(f"old{i}", "f", "2024-01-05") for i in range(500)]
    events += [(f"new{i}", "f", "2024-03-20") for i in range(500)]
    use(c, *events)
    assert get(csm_client, c, "2024-03-31")["product_adoption_rate"] == 0.5
    d = CustomerFactory(licenses=1000)
    events = [(f"u{i}", "reports" if i < 200 else "export", "2024-03-20") for i in range(500)]
    use(d, *events)
    assert get(csm_client, d, "2024-03-31")["feature_adoption"]["reports"] == 0.4


def test_no_usage_gives_nulls(csm_client):
    c = CustomerFactory(licenses=0, contract_start=None, go_live_date=None)
    body = get(csm_client, c, "2024-03-31")
    assert body["users_total"] == 0
    assert body["active_users_30d"] == 0
    for name in (
        "license_utilization",
        "product_adoption_rate",
        "dau_mau",
        "time_to_value_days",
        "days_to_onboard",
    ):
        assert body[name] is None, name


def test_engagement_bad_parameters(csm_client, customer):
    assert csm_client.get("/api/v1/metrics/engagement/").status_code == 400
    response = csm_client.get("/api/v1/metrics/engagement/?customer=NOPE")
    assert response.status_code == 400
    assert "customer" in response.json()
    response = csm_client.get(f"/api/v1/metrics/engagement/?customer={customer.external_id}&as_of=soon")
    assert "as_of" in response.json()


def test_engagement_query_count_is_constant(csm_client, django_assert_max_num_queries):
    for size in (3, 60):
        c = CustomerFactory(licenses=100)
        use(c, *[(f"u{i}", f"f{i % 7}", f"2024-03-{1 + i % 28:02d}") for i in range(size)])
        with django_assert_max_num_queries(10):
            get(csm_client, c, "2024-03-31")
