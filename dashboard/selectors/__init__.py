"""Reads for the home dashboard and the portfolio trends: the viewer's portfolio (a CSM's book, a manager's
teams, everything for an admin) in a fixed number of queries, whatever its size.

- portfolio: whose customers a dashboard covers (Portfolio, portfolio_for)
- home_page: the home page — health by band, at-risk ARR, renewals due, biggest drops, NPS, overdue tasks
- revenue_retention: the portfolio's revenue sums and its trailing-year retention cohort (NRR, GRR, churn)
- trends: band mix by month, NRR/GRR by month, the renewals funnel
"""

from __future__ import annotations

from .home_page import (
    AT_RISK,
    BAND_LABELS,
    BANDS,
    EXPORT_LIMIT,
    LIST_LIMIT,
    RENEWAL_WINDOWS,
    AtRisk,
    BandRow,
    Drop,
    Home,
    RenewalWindow,
    at_risk,
    band_distribution,
    biggest_drops,
    home,
    nps_last_90_days,
    oldest_overdue,
    overdue_tasks,
    renewal_windows,
    renewals_due,
)
from .portfolio import Portfolio, portfolio_for
from .revenue_retention import Retention, RetentionRates, portfolio_revenue, retention, trailing_year
from .trends import (
    BandMonth,
    FunnelStage,
    RetentionMonth,
    band_mix_by_month,
    month_ends,
    renewals_funnel,
    retention_by_month,
)

__all__ = [
    "AT_RISK",
    "BANDS",
    "BAND_LABELS",
    "EXPORT_LIMIT",
    "LIST_LIMIT",
    "RENEWAL_WINDOWS",
    "AtRisk",
    "BandMonth",
    "BandRow",
    "Drop",
    "FunnelStage",
    "Home",
    "Portfolio",
    "RenewalWindow",
    "Retention",
    "RetentionMonth",
    "RetentionRates",
    "at_risk",
    "band_distribution",
    "band_mix_by_month",
    "biggest_drops",
    "home",
    "month_ends",
    "nps_last_90_days",
    "oldest_overdue",
    "overdue_tasks",
    "portfolio_for",
    "portfolio_revenue",
    "renewal_windows",
    "renewals_due",
    "renewals_funnel",
    "retention",
    "retention_by_month",
    "trailing_year",
]
