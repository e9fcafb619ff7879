"""One function per revenue metric of docs/metrics.md, each a ratio of the engine's sums, and the
`GET /api/v1/metrics/revenue/` answer that gathers them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core.numbers import ratio

from ..scope import Scope
from .engine import Cohort, RevenueTotals
from .rollup import revenue_totals


def arr(t: RevenueTotals) -> Decimal:
    """docs/metrics.md arr_end: 12 x mrr_end."""
    return t.closing * 12


def nrr(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md nrr: Σ_S closing ÷ Σ_S opening."""
    return ratio(t.cohort_closing, t.opening)


def grr(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md grr: Σ_S min(closing, opening) ÷ Σ_S opening (never above 1)."""
    return ratio(t.cohort_floor, t.opening)


def new_customers(t: RevenueTotals) -> int:
    """docs/metrics.md N = E \\ S: paying at the end, not at the start (new logos and reactivations)."""
    return t.customers_end - t.retained


def churned_customers(t: RevenueTotals | Cohort) -> int:
    """docs/metrics.md churned_customers = |S| - |S∩E|."""
    return t.customers_start - t.retained


def customer_retention_rate(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md customer_retention_rate: (|E| - |N|) ÷ |S|, where |E| - |N| = |E ∩ S| (N = E \\ S)."""
    return ratio(t.retained, t.customers_start)


def customer_churn_rate(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md customer_churn_rate: 1 - customer_retention_rate."""
    retention = customer_retention_rate(t)
    return None if retention is None else 1 - retention


def gross_mrr_churn_rate(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md gross_mrr_churn_rate: (churn + contraction) ÷ mrr_start."""
    return ratio(t.churn + t.contraction, t.opening)


def net_mrr_churn_rate(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md net_mrr_churn_rate: (churn + contraction - expansion - reactivation) ÷ mrr_start."""
    return ratio(t.churn + t.contraction - t.expansion - t.reactivation, t.opening)


def quick_ratio(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md quick_ratio: (new + reactivation + expansion) ÷ (churn + contraction)."""
    return ratio(t.new + t.reactivation + t.expansion, t.churn + t.contraction)


def arpa(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md arpa: mrr_end ÷ |E|."""
    return ratio(t.closing, t.customers_end)


def clv(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md clv: arpa x 12 x gross_margin ÷ annual churn - CAC,
    annual churn = customer_churn_rate x 365 ÷ days in period. Null when nobody churned (infinite life)."""
    churn_rate = customer_churn_rate(t)
    if churn_rate is None or not churn_rate or not t.customers_end:
        return None
    annual_churn = churn_rate * 365 / t.days
    margin = Decimal(str(settings.CSHUB_GROSS_MARGIN))
    cac = Decimal(str(settings.CSHUB_CAC))
    # mrr_end x 12 ÷ |E| rather than a rounded arpa x 12: keeps e.g. 200.00/year exact.
    return t.closing * 12 * margin / t.customers_end / annual_churn - cac


@dataclass(frozen=True)
class RevenueMetrics:
    """The `GET /api/v1/metrics/revenue/` answer (docs/api.md)."""

    start: dt.date
    end: dt.date
    mrr_start: Decimal
    mrr_end: Decimal
    arr_end: Decimal
    customers_start: int
    customers_end: int
    new_customers: int
    churned_customers: int
    new_mrr: Decimal
    expansion_mrr: Decimal
    contraction_mrr: Decimal
    churned_mrr: Decimal
    reactivation_mrr: Decimal
    nrr: Decimal | None
    grr: Decimal | None
    customer_retention_rate: Decimal | None
    customer_churn_rate: Decimal | None
    gross_mrr_churn_rate: Decimal | None
    net_mrr_churn_rate: Decimal | None
    quick_ratio: Decimal | None
    arpa: Decimal | None
    clv: Decimal | None


def revenue_metrics(*, scope: Scope, start: dt.date, end: dt.date) -> RevenueMetrics:
    """Every revenue metric of docs/metrics.md for the period [start, end] and the customers in `scope`."""
    t = revenue_totals(scope=scope, start=start, end=end)
    return RevenueMetrics(
        start=start,
        end=end,
        mrr_start=t.opening,
        mrr_end=t.closing,
        arr_end=arr(t),
        customers_start=t.customers_start,
        customers_end=t.customers_end,
        new_customers=new_customers(t),
        churned_customers=churned_customers(t),
        new_mrr=t.new,
        expansion_mrr=t.expansion,
        contraction_mrr=t.contraction,
        churned_mrr=t.churn,
        reactivation_mrr=t.reactivation,
        nrr=nrr(t),
        grr=grr(t),
        customer_retention_rate=customer_retention_rate(t),
        customer_churn_rate=customer_churn_rate(t),
        gross_mrr_churn_rate=gross_mrr_churn_rate(t),
        net_mrr_churn_rate=net_mrr_churn_rate(t),
        quick_ratio=quick_ratio(t),
        arpa=arpa(t),
        clv=clv(t),
    )
