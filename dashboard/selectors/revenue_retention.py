"""Revenue retention of a portfolio: its revenue sums for a period, and NRR, GRR and churn of the trailing
12 months (the cohort of customers paying a year ago)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from metrics import revenue
from metrics.revenue import Cohort, RevenueTotals
from metrics.scope import Scope

from ..team import add_totals, revenue_by_csm
from .home_rollup import trailing_year
from .portfolio import Portfolio


def portfolio_revenue(*, portfolio: Portfolio, start: dt.date, end: dt.date) -> RevenueTotals:
    """metrics.revenue.revenue_totals over the portfolio: the company scope; or the portfolio's books from the
    revenue rollup (a calendar month, quarter or year, docs/metrics.md#revenue-rollup), else their union
    through the grouped variant (same classification, sums added before any ratio)."""
    if portfolio.csm_ids is None:
        return revenue.revenue_totals(scope=Scope(), start=start, end=end)
    rolled = revenue.rollup_totals(scope=Scope(csm_ids=portfolio.csm_ids), start=start, end=end)
    if rolled is not None:
        return rolled
    parts = revenue_by_csm(csm_ids=portfolio.csm_ids, start=start, end=end)
    return add_totals(list(parts.values()), start=start, end=end)


class RetentionRates:
    """NRR and GRR of `totals` (the engine's functions), for Retention and trends.RetentionMonth."""

    totals: RevenueTotals | Cohort

    @property
    def nrr(self) -> Decimal | None:
        return revenue.nrr(self.totals)

    @property
    def grr(self) -> Decimal | None:
        return revenue.grr(self.totals)


@dataclass(frozen=True)
class Retention(RetentionRates):
    start: dt.date
    end: dt.date
    totals: RevenueTotals | Cohort

    @property
    def churn(self) -> Decimal | None:
        return revenue.customer_churn_rate(self.totals)

    @property
    def churned_customers(self) -> int:
        return revenue.churned_customers(self.totals)


def retention(*, portfolio: Portfolio, today: dt.date) -> Retention:
    """NRR, GRR and churn of the trailing 12 months. They are ratios of the cohort sums only (not the year's
    movements): the whole company's from metrics.revenue.cohort_totals (the rows in force a year ago and the
    changed customers' closing rows), a few books' from revenue.cohort_of_customers (two index lookups per
    customer)."""
    start, end = trailing_year(today)
    if portfolio.is_everything:
        return Retention(start, end, revenue.cohort_totals(scope=Scope(), start=start, end=end))
    cohort = revenue.cohort_of_customers(where=portfolio.sql("cu.csm_id"), start=start, end=end)
    return Retention(start, end, cohort)
