"""Revenue metrics from the MRR ledger, exactly as docs/metrics.md defines them.

- ledger: the SQL vocabulary of the ledger (the row in force on a day; MOVEMENT_RULES, the one classification)
- engine: the sums every revenue metric is a ratio of (RevenueTotals, Cohort), one query per period
- definitions: one function per docs/metrics.md metric, and revenue_metrics (the API's answer)
- customers: the customers behind a number (the Revenue page's lists), and one customer's MRR
- monthly: calendar months and the Revenue page's monthly series
- rollup: the sums kept per CSM, segment and calendar period that calendar periods are read from

The names below are the package's public interface; import them from `metrics.revenue`.
"""

from __future__ import annotations

from .customers import (
    CUSTOMER_LISTS,
    CustomerMovement,
    customer_mrr_history,
    customer_mrr_on,
    per_customer_sql,
    revenue_customers,
)
from .definitions import (
    RevenueMetrics,
    arpa,
    arr,
    churned_customers,
    clv,
    customer_churn_rate,
    customer_retention_rate,
    gross_mrr_churn_rate,
    grr,
    net_mrr_churn_rate,
    new_customers,
    nrr,
    quick_ratio,
    revenue_metrics,
)
from .engine import (
    MOVEMENTS,
    Cohort,
    LedgerIdentityError,
    RevenueTotals,
    cohort_of_customers,
    cohort_sql,
    cohort_totals,
    cohorts_of_customers,
    ledger_totals,
    sums_sql,
    totals_from_cents,
    totals_from_sums,
)
from .ledger import MOVEMENT_RULES, MOVEMENT_SQL
from .monthly import add_months, month_start, monthly_revenue
from .rollup import reading_marks_once, revenue_rollup_refresh, revenue_totals, rollup_totals

__all__ = [
    "CUSTOMER_LISTS",
    "MOVEMENTS",
    "MOVEMENT_RULES",
    "MOVEMENT_SQL",
    "Cohort",
    "CustomerMovement",
    "LedgerIdentityError",
    "RevenueMetrics",
    "RevenueTotals",
    "add_months",
    "arpa",
    "arr",
    "churned_customers",
    "clv",
    "cohort_of_customers",
    "cohort_sql",
    "cohort_totals",
    "cohorts_of_customers",
    "customer_churn_rate",
    "customer_mrr_history",
    "customer_mrr_on",
    "customer_retention_rate",
    "gross_mrr_churn_rate",
    "grr",
    "ledger_totals",
    "month_start",
    "monthly_revenue",
    "net_mrr_churn_rate",
    "new_customers",
    "nrr",
    "per_customer_sql",
    "quick_ratio",
    "reading_marks_once",
    "revenue_customers",
    "revenue_metrics",
    "revenue_rollup_refresh",
    "revenue_totals",
    "rollup_totals",
    "sums_sql",
    "totals_from_cents",
    "totals_from_sums",
]
