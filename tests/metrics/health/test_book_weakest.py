"""The Book names each scored customer's weakest factors (docs/health.md#in-the-book), from its latest
snapshot, in one query for the page."""

from __future__ import annotations

import pytest

from metrics.health.services import health_recompute
from tests.factories import CustomerFactory, KeyFeatureFactory

from .conftest import DAY, days_ago, ledger_before, usage

pytestmark = pytest.mark.django_db


def test_the_book_names_the_weakest_factors_in_words(csm_client, csm, django_assert_max_num_queries):
    KeyFeatureFactory(name="reports")
    young = CustomerFactory(csm=csm, name="Young Co", licenses=10, contract_start=days_ago(20))
    ledger_before(young, (20, 500))
    usage(young, users=8, day=days_ago(3), features=("reports", "export"))  # half the events in key features
    steady = CustomerFactory(csm=csm, name="Steady Co", licenses=10, contract_start=days_ago(700))
    ledger_before(steady, (700, 500))
    usage(steady, users=9, day=days_ago(3), features=("reports",), events=5)
    health_recompute(day=DAY, run_hooks=False)

    with django_assert_max_num_queries(12):
        page = csm_client.get("/book/").content.decode()

    row = page[page.index("Young Co") :]
    row = row[: row.index("</tr>")]
    assert "Weakest: New customer" in row  # 20 days: 0 of 100 points
    assert "New customer: 20 days (since" in row  # the title says the value
    steady_row = page[page.index("Steady Co") :]
    steady_row = steady_row[: steady_row.index("</tr>")]
    assert "Weakest:" not in steady_row  # every factor at 50 points or more
