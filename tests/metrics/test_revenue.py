"""Revenue metrics (docs/metrics.md) via `GET /api/v1/metrics/revenue/`: worked examples and edge cases."""

from __future__ import annotations

import pytest

from tests.factories import CustomerFactory, UserFactory

from .conftest import bulk_customers, ledger

pytestmark = pytest.mark.django_db


def test_cohort_example_a_to_e(csm_client, revenue_url):
    a, b, c, d, e = (CustomerFactory(name=n) for n in "ABCDE")
    ledger(
        [
            (a, "2023-06-01", 1000),
            (b, "2023-06-01", 500),
            (c, "2023-06-01", 300),
            (d, "2023-06-01", 200),
            (a, "2024-02-01", 1300),
            (b, "2024-02-01", 400),
            (c, "2024-02-01", 0),
            (d, "2024-02-01", 250),
            (e, "2024-02-15", 600),
        ]
    )
    body = csm_client.get(revenue_url("2024-01-01", "2024-03-31")).json()
    assert body["mrr_start"] == "2000.00"
    assert body["mrr_end"] == "2550.00"
    assert body["arr_end"] == "30600.00"
    assert body["new_mrr"] == "600.00"
    assert body["expansion_mrr"] == "350.00"
    assert body["contraction_mrr"] == "100.00"
    assert body["churned_mrr"] == "300.00"
    assert body["reactivation_mrr"] == "0.00"
    assert body["nrr"] == 0.975
    assert body["grr"] == 0.8
    assert body["customer_retention_rate"] == 0.75
    assert body["customer_churn_rate"] == 0.25
    assert body["quick_ratio"] == 2.375
    assert body["customers_start"] == 4
    assert body["customers_end"] == 4
    assert body["new_customers"] == 1
    assert body["churned_customers"] == 1
    assert body["arpa"] == "637.50"


def test_retention_1000_start_200_new_1050_end(csm_client, revenue_url):
    start = bulk_customers("S", 1000)
    new = bulk_customers("N", 200)
    ledger([(c, "2023-01-01", 50) for c in start])
    ledger([(c, "2024-03-01", 0) for c in start[:150]])
    ledger([(c, "2024-03-01", 70) for c in new])
    body = csm_client.get(revenue_url("2024-01-01", "2024-12-31")).json()
    assert body["customers_start"] == 1000
    assert body["new_customers"] == 200
    assert body["customers_end"] == 1050
    assert body["customer_retention_rate"] == 0.85
    assert body["churned_customers"] == 150


def test_churn_50_of_1000_and_mrr_500_times_50(csm_client, revenue_url):
    customers = bulk_customers("C", 1000)
    ledger([(c, "2023-01-01", 50) for c in customers])
    ledger([(c, "2024-02-10", 0) for c in customers[:500]])
    body = csm_client.get(revenue_url("2024-01-01", "2024-01-31")).json()
    assert body["mrr_end"] == "50000.00"
    body = csm_client.get(revenue_url("2024-02-11", "2024-02-11")).json()
    assert body["mrr_end"] == "25000.00"  # 500 customers x $50
    assert body["customers_end"] == 500


def test_churn_rate_50_of_1000(csm_client, revenue_url):
    customers = bulk_customers("C", 1000)
    ledger([(c, "2023-01-01", 50) for c in customers])
    ledger([(c, "2024-02-10", 0) for c in customers[:50]])
    body = csm_client.get(revenue_url("2024-01-01", "2024-12-31")).json()
    assert body["customer_churn_rate"] == 0.05


def test_gross_and_net_mrr_churn(csm_client, revenue_url):
    x, y, z = CustomerFactory(), CustomerFactory(), CustomerFactory()
    ledger([(x, "2023-01-01", 10), (y, "2023-01-01", 40), (z, "2023-01-01", 50)])
    ledger([(x, "2024-01-05", 0), (y, "2024-01-05", 30), (z, "2024-01-05", 60)])
    body = csm_client.get(revenue_url("2024-01-01", "2024-01-31")).json()
    assert body["mrr_start"] == "100.00"
    assert body["gross_mrr_churn_rate"] == 0.2
    assert body["net_mrr_churn_rate"] == 0.1


def test_clv_200_a_year_20_percent_churn_cac_100(csm_client, revenue_url, settings):
    settings.CSHUB_CAC = 100
    settings.CSHUB_GROSS_MARGIN = 1.0
    start = bulk_customers("S", 10)
    new = bulk_customers("N", 4)
    ledger([(c, "2022-06-01", 20) for c in start])
    ledger([(c, "2023-05-01", 0) for c in start[:2]])
    # 12 paying at the end, 200.00 in all: ARPA x 12 = $200/year.
    ledger([(c, "2023-05-01", "16.67") for c in start[2:]])
    ledger([(c, "2023-07-01", "16.67") for c in new[:3]])
    ledger([(new[3], "2023-07-01", "16.63")])
    body = csm_client.get(revenue_url("2023-01-01", "2023-12-31")).json()
    assert body["mrr_end"] == "200.00"
    assert body["customer_churn_rate"] == 0.2
    assert body["clv"] == "900.00"


def test_no_data_gives_nulls_not_zeros(csm_client, revenue_url):
    body = csm_client.get(revenue_url("2024-01-01", "2024-01-31")).json()
    assert body["mrr_start"] == "0.00"
    assert body["customers_start"] == 0
    for name in (
        "nrr",
        "grr",
        "customer_retention_rate",
        "customer_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "quick_ratio",
        "arpa",
        "clv",
    ):
        assert body[name] is None, name


def test_reactivation_after_a_gap_is_not_new(csm_client, revenue_url):
    c = CustomerFactory()
    ledger([(c, "2023-01-01", 100), (c, "2023-06-01", 0), (c, "2024-02-01", 150)])
    body = csm_client.get(revenue_url("2024-01-01", "2024-03-31")).json()
    assert body["reactivation_mrr"] == "150.00"
    assert body["new_mrr"] == "0.00"
    assert body["new_customers"] == 1  # in E, not in S
    assert body["nrr"] is None  # S is empty


def test_several_changes_for_one_customer_in_a_period(csm_client, revenue_url):
    c = CustomerFactory()
    ledger(
        [
            (c, "2023-01-01", 100),
            (c, "2024-01-10", 150),  # expansion 50
            (c, "2024-01-20", 120),  # contraction 30
            (c, "2024-02-01", 0),  # churn 120
            (c, "2024-02-15", 90),  # reactivation 90
            (c, "2024-03-01", 90),  # no change
        ]
    )
    body = csm_client.get(revenue_url("2024-01-01", "2024-03-31")).json()
    assert body["expansion_mrr"] == "50.00"
    assert body["contraction_mrr"] == "30.00"
    assert body["churned_mrr"] == "120.00"
    assert body["reactivation_mrr"] == "90.00"
    assert body["mrr_end"] == "90.00"
    assert body["nrr"] == 0.9
    assert body["grr"] == 0.9
    assert body["churned_customers"] == 0


def test_one_day_period_and_change_on_the_first_day(csm_client, revenue_url):
    c = CustomerFactory()
    ledger([(c, "2024-01-01", 100), (c, "2024-01-15", 80)])
    body = csm_client.get(revenue_url("2024-01-15", "2024-01-15")).json()
    assert body["mrr_start"] == "100.00"
    assert body["mrr_end"] == "80.00"
    assert body["contraction_mrr"] == "20.00"
    body = csm_client.get(revenue_url("2024-01-14", "2024-01-14")).json()
    assert body["mrr_start"] == body["mrr_end"] == "100.00"
    assert body["nrr"] == 1.0


def test_csm_and_segment_filters_and_customer_without_csm(csm, csm_client, revenue_url):
    other = UserFactory(email="someone@example.com")
    mine = CustomerFactory(csm=csm, segment="Enterprise")
    theirs = CustomerFactory(csm=other, segment="SMB")
    orphan = CustomerFactory(csm=None, segment="SMB")
    ledger([(mine, "2024-01-01", 100), (theirs, "2024-01-01", 200), (orphan, "2024-01-01", 400)])
    period = ("2024-02-01", "2024-02-29")
    assert csm_client.get(revenue_url(*period)).json()["mrr_end"] == "700.00"
    assert csm_client.get(revenue_url(*period, csm=csm.email)).json()["mrr_end"] == "100.00"
    assert csm_client.get(revenue_url(*period, segment="SMB")).json()["mrr_end"] == "600.00"
    assert csm_client.get(revenue_url(*period, segment="SMB", csm=other.email)).json()["mrr_end"] == "200.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2024-01-01", "end"),
        ("end=2024-01-01", "start"),
        ("start=2024-13-01&end=2024-12-31", "start"),
        ("start=2024-02-01&end=2024-01-01", "end"),
        ("start=2024-01-01&end=2024-01-31&csm=nobody@example.com", "csm"),
    ],
)
def test_bad_parameters_answer_400_with_field_messages(csm_client, query, field):
    response = csm_client.get(f"/api/v1/metrics/revenue/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_revenue_query_count_is_constant(csm_client, revenue_url, django_assert_max_num_queries):
    for size in (5, 50):
        customers = bulk_customers(f"Q{size}", size)
        ledger([(c, "2024-01-01", 10) for c in customers] + [(c, "2024-02-01", 20) for c in customers])
        with django_assert_max_num_queries(7):
            assert csm_client.get(revenue_url("2024-01-15", "2024-02-15")).status_code == 200
