"""The home dashboard's company retention (metrics.revenue.cohort_totals: the cohort sums without the period's
movements) equals the engine's revenue_totals, for random ledgers and periods, company-wide and per book."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer, Role
from metrics import revenue
from metrics.models import MrrEntry
from metrics.scope import Scope
from metrics.services import mrr_ledger_relink
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = dt.date(2024, 1, 1)
money = st.one_of(st.just(Decimal("0")), st.decimals(min_value=0, max_value=5000, places=2))
customer_ledger = st.dictionaries(st.integers(min_value=0, max_value=120), money, max_size=6)
ledgers = st.lists(st.tuples(st.booleans(), customer_ledger), min_size=1, max_size=8)
periods = st.tuples(st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=60))

COHORT_FIELDS = ("opening", "customers_start", "retained", "cohort_closing", "cohort_floor")


def _same_cohort(cohort: revenue.Cohort, totals: revenue.RevenueTotals) -> None:
    assert {f: getattr(cohort, f) for f in COHORT_FIELDS} == {f: getattr(totals, f) for f in COHORT_FIELDS}
    assert revenue.nrr(cohort) == revenue.nrr(totals)
    assert revenue.grr(cohort) == revenue.grr(totals)
    assert revenue.customer_churn_rate(cohort) == revenue.customer_churn_rate(totals)
    assert revenue.churned_customers(cohort) == revenue.churned_customers(totals)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers, period=periods)
def test_cohort_totals_equal_the_engines_cohort(db, ledger, period):
    MrrEntry.objects.all().delete()
    Customer.objects.filter(external_id__startswith="K-").delete()
    mine = UserFactory(email="cohort.csm@example.com", role=Role.CSM)
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"K-{i}", name=f"K {i}", csm=mine if in_book else None)
        for i, (in_book, _rows) in enumerate(ledger)
    )
    MrrEntry.objects.bulk_create(
        MrrEntry(customer=c, effective_date=BASE + dt.timedelta(days=d), mrr=m)
        for c, (_in_book, rows) in zip(customers, ledger, strict=True)
        for d, m in rows.items()
    )
    mrr_ledger_relink()
    start = BASE + dt.timedelta(days=period[0])
    end = start + dt.timedelta(days=period[1])
    for scope in (Scope(), Scope(csm=mine)):
        _same_cohort(
            revenue.cohort_totals(scope=scope, start=start, end=end),
            revenue.revenue_totals(scope=scope, start=start, end=end),
        )
    # Driven from the customers of a book (the home of a CSM or a manager).
    _same_cohort(
        revenue.cohort_of_customers(where=(" AND cu.csm_id IN (%s)", [mine.pk]), start=start, end=end),
        revenue.revenue_totals(scope=Scope(csm=mine), start=start, end=end),
    )


def test_the_home_retention_of_an_admin_is_the_engines(admin_user):
    from dashboard import selectors

    c = Customer.objects.create(external_id="K-1", name="K 1")
    today = dt.date(2026, 3, 15)
    MrrEntry.objects.bulk_create(
        [
            MrrEntry(customer=c, effective_date=dt.date(2024, 1, 1), mrr=Decimal("100")),
            MrrEntry(customer=c, effective_date=dt.date(2025, 8, 1), mrr=Decimal("80")),
            MrrEntry(customer=c, effective_date=dt.date(2026, 1, 1), mrr=Decimal("120")),
        ]
    )
    mrr_ledger_relink()
    start, end = selectors.trailing_year(today)
    home = selectors.retention(portfolio=selectors.portfolio_for(admin_user), today=today)
    assert isinstance(home.totals, revenue.Cohort)
    _same_cohort(home.totals, revenue.revenue_totals(scope=Scope(), start=start, end=end))
    assert home.nrr == Decimal("1.2")
    assert home.grr == Decimal("1")  # min(closing, opening): the dip in between does not count


def test_the_home_retention_of_a_csm_is_the_engines(csm):
    from dashboard import selectors

    c = Customer.objects.create(external_id="K-2", name="K 2", csm=csm)
    today = dt.date(2026, 3, 15)
    MrrEntry.objects.bulk_create(
        [
            MrrEntry(customer=c, effective_date=dt.date(2024, 1, 1), mrr=Decimal("100")),
            MrrEntry(customer=c, effective_date=dt.date(2026, 1, 1), mrr=Decimal("70")),
        ]
    )
    mrr_ledger_relink()
    start, end = selectors.trailing_year(today)
    home = selectors.retention(portfolio=selectors.portfolio_for(csm), today=today)
    _same_cohort(home.totals, revenue.revenue_totals(scope=Scope(csm=csm), start=start, end=end))
    assert home.grr == Decimal("0.7")
