"""Revenue metrics from the MRR ledger, exactly as DESIGN.md §5 defines them.

All money is summed in the database as integer cents (`ROUND(mrr * 100)`), so totals are exact on PostgreSQL
and on SQLite (which stores decimals as REAL). One SQL statement classifies every ledger row of the period
against the MRR just before it (a LAG window per customer) and derives each customer's opening and closing MRR
from the same window (the row whose successor is after the date); everything else is a ratio of those sums.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery

from accounts.models import Customer, User

from .models import MrrEntry
from .scope import Scope, adapt_date, q

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


class LedgerIdentityError(RuntimeError):
    """Σclosing ≠ Σopening + new + reactivation + expansion - contraction - churn: a bug, never a rounding."""


def _cents(value: int | None) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(Decimal("0.01"))


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """DESIGN.md §4: an undefined value (division by zero) is null, never 0."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def per_customer_sql(scope: Scope, start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """SQL of one row per customer with a ledger row ≤ end: opening, closing and each movement, in cents.

    DESIGN.md §5 "Movements": each ledger row with effective_date in [start, end] against `prev`, the MRR
    just before it: new (prev = 0, never positive before), reactivation (prev = 0, positive before),
    expansion (value > prev > 0), contraction (0 < value < prev), churn (prev > 0, value = 0).
    opening = MRR on start - 1, closing = MRR on end (the latest row ≤ that day; 0 if none).
    """
    table = q(MrrEntry._meta.db_table)
    scope_sql, scope_params = scope.sql("customer_id")
    s, e = adapt_date(start), adapt_date(end)
    sql = f"""
        WITH ledger AS (
            SELECT customer_id, effective_date, CAST(ROUND(mrr * 100) AS BIGINT) AS cents
            FROM {table} WHERE effective_date <= %s{scope_sql}
        ),
        w AS (
            SELECT customer_id, effective_date, cents,
                   LAG(cents, 1, 0) OVER (PARTITION BY customer_id ORDER BY effective_date) AS prev,
                   MAX(cents) OVER (PARTITION BY customer_id ORDER BY effective_date
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_before,
                   LEAD(effective_date) OVER (PARTITION BY customer_id ORDER BY effective_date) AS next_date
            FROM ledger
        ),
        c AS (
            SELECT customer_id, cents,
                   CASE WHEN effective_date < %s AND (next_date IS NULL OR next_date >= %s)
                        THEN cents ELSE 0 END AS opening,
                   CASE WHEN next_date IS NULL THEN cents ELSE 0 END AS closing,
                   CASE WHEN effective_date >= %s AND prev = 0 AND cents > 0
                             AND COALESCE(max_before, 0) = 0 THEN cents ELSE 0 END AS new_mrr,
                   CASE WHEN effective_date >= %s AND prev = 0 AND cents > 0
                             AND max_before > 0 THEN cents ELSE 0 END AS reactivation_mrr,
                   CASE WHEN effective_date >= %s AND prev > 0 AND cents > prev
                        THEN cents - prev ELSE 0 END AS expansion_mrr,
                   CASE WHEN effective_date >= %s AND cents > 0 AND cents < prev
                        THEN prev - cents ELSE 0 END AS contraction_mrr,
                   CASE WHEN effective_date >= %s AND prev > 0 AND cents = 0
                        THEN prev ELSE 0 END AS churned_mrr
            FROM w
        )
        SELECT customer_id,
               SUM(opening) AS opening, SUM(closing) AS closing,
               SUM(new_mrr) AS new_mrr, SUM(reactivation_mrr) AS reactivation_mrr,
               SUM(expansion_mrr) AS expansion_mrr, SUM(contraction_mrr) AS contraction_mrr,
               SUM(churned_mrr) AS churned_mrr
        FROM c GROUP BY customer_id
    """  # noqa: S608 - table and scope SQL are built by us; values are parameters
    return sql, [e, *scope_params, s, s, s, s, s, s, s]


@dataclass(frozen=True)
class RevenueTotals:
    """The sums every revenue metric is a ratio of (money in Decimal dollars)."""

    start: dt.date
    end: dt.date
    opening: Decimal
    closing: Decimal
    new: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    customers_start: int  # |S|: opening > 0
    customers_end: int  # |E|: closing > 0
    retained: int  # |S ∩ E|
    cohort_closing: Decimal  # Σ_S closing
    cohort_floor: Decimal  # Σ_S min(closing, opening)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def revenue_totals(*, scope: Scope, start: dt.date, end: dt.date) -> RevenueTotals:
    """One query: Σopening, Σclosing, the five movements and the cohort sums S, E, S∩E (DESIGN.md §5)."""
    inner, params = per_customer_sql(scope, start, end)
    sql = f"""
        SELECT SUM(opening), SUM(closing), SUM(new_mrr), SUM(reactivation_mrr), SUM(expansion_mrr),
               SUM(contraction_mrr), SUM(churned_mrr),
               SUM(CASE WHEN opening > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN closing > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN opening > 0 AND closing > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN opening > 0 THEN closing ELSE 0 END),
               SUM(CASE WHEN opening > 0 THEN CASE WHEN closing < opening THEN closing ELSE opening END
                        ELSE 0 END)
        FROM ({inner}) pc
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    opening, closing, new, react, exp, contr, churn, n_s, n_e, n_se, s_closing, s_floor = (
        int(v or 0) for v in row
    )
    # DESIGN.md §5 identity, checked in integer cents: exact, whatever the database.
    if closing != opening + new + react + exp - contr - churn:
        raise LedgerIdentityError(
            f"{start}..{end}: closing {closing} != opening {opening} + new {new} + reactivation {react}"
            f" + expansion {exp} - contraction {contr} - churn {churn} (cents)"
        )
    return RevenueTotals(
        start=start,
        end=end,
        opening=_cents(opening),
        closing=_cents(closing),
        new=_cents(new),
        reactivation=_cents(react),
        expansion=_cents(exp),
        contraction=_cents(contr),
        churn=_cents(churn),
        customers_start=n_s,
        customers_end=n_e,
        retained=n_se,
        cohort_closing=_cents(s_closing),
        cohort_floor=_cents(s_floor),
    )


# --- One function per DESIGN.md §5 definition -----------------------------------------------------


def arr(t: RevenueTotals) -> Decimal:
    """DESIGN.md §5 arr_end: 12 x mrr_end."""
    return t.closing * 12


def nrr(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 nrr: Σ_S closing ÷ Σ_S opening."""
    return _ratio(t.cohort_closing, t.opening)


def grr(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 grr: Σ_S min(closing, opening) ÷ Σ_S opening (never above 1)."""
    return _ratio(t.cohort_floor, t.opening)


def new_customers(t: RevenueTotals) -> int:
    """DESIGN.md §5 N = E \\ S: paying at the end, not at the start (new logos and reactivations)."""
    return t.customers_end - t.retained


def churned_customers(t: RevenueTotals) -> int:
    """DESIGN.md §5 churned_customers = |S| - |S∩E|."""
    return t.customers_start - t.retained


def customer_retention_rate(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 customer_retention_rate: (|E| - |N|) ÷ |S|."""
    return _ratio(t.customers_end - new_customers(t), t.customers_start)


def customer_churn_rate(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 customer_churn_rate: 1 - customer_retention_rate."""
    retention = customer_retention_rate(t)
    return None if retention is None else 1 - retention


def gross_mrr_churn_rate(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 gross_mrr_churn_rate: (churn + contraction) ÷ mrr_start."""
    return _ratio(t.churn + t.contraction, t.opening)


def net_mrr_churn_rate(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 net_mrr_churn_rate: (churn + contraction - expansion - reactivation) ÷ mrr_start."""
    return _ratio(t.churn + t.contraction - t.expansion - t.reactivation, t.opening)


def quick_ratio(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 quick_ratio: (new + reactivation + expansion) ÷ (churn + contraction)."""
    return _ratio(t.new + t.reactivation + t.expansion, t.churn + t.contraction)


def arpa(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 arpa: mrr_end ÷ |E|."""
    return _ratio(t.closing, t.customers_end)


def clv(t: RevenueTotals) -> Decimal | None:
    """DESIGN.md §5 clv: arpa x 12 x gross_margin ÷ annual churn - CAC,
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
    """The `GET /api/v1/metrics/revenue/` answer (DESIGN.md §4)."""

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
    """Every revenue metric of DESIGN.md §5 for the period [start, end] and the customers in `scope`."""
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


# --- The customers behind a number ----------------------------------------------------------------

CUSTOMER_LISTS: dict[str, tuple[str, str, str]] = {
    # metric: (label, SQL condition on the per-customer row, amount column)
    "new": ("New MRR", "new_mrr > 0", "new_mrr"),
    "reactivation": ("Reactivation MRR", "reactivation_mrr > 0", "reactivation_mrr"),
    "expansion": ("Expansion MRR", "expansion_mrr > 0", "expansion_mrr"),
    "contraction": ("Contraction MRR", "contraction_mrr > 0", "contraction_mrr"),
    "churn": ("Churned MRR", "churned_mrr > 0", "churned_mrr"),
    "churned": (
        "Churned customers (paying at the start, not at the end)",
        "opening > 0 AND closing = 0",
        "opening",
    ),
    "start": ("Paying at the start (cohort S)", "opening > 0", "opening"),
    "end": ("Paying at the end (E)", "closing > 0", "closing"),
    "retained": ("Retained (S ∩ E)", "opening > 0 AND closing > 0", "closing"),
}


@dataclass(frozen=True)
class CustomerMovement:
    customer_id: int
    external_id: str
    name: str
    segment: str
    csm_name: str | None
    opening: Decimal
    closing: Decimal
    amount: Decimal
    new: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal


def revenue_customers(
    *, scope: Scope, start: dt.date, end: dt.date, metric: str, limit: int = 1000
) -> list[CustomerMovement]:
    """The customers behind a revenue number (one of CUSTOMER_LISTS), largest amount first; one query."""
    _label, condition, amount = CUSTOMER_LISTS[metric]
    inner, params = per_customer_sql(scope, start, end)
    customers = q(Customer._meta.db_table)
    users = q(User._meta.db_table)
    sql = f"""
        SELECT pc.customer_id, cu.external_id, cu.name, cu.segment,
               COALESCE(NULLIF(u.full_name, ''), u.email),
               pc.opening, pc.closing, pc.{amount}, pc.new_mrr, pc.reactivation_mrr, pc.expansion_mrr,
               pc.contraction_mrr, pc.churned_mrr
        FROM ({inner}) pc
        JOIN {customers} cu ON cu.id = pc.customer_id
        LEFT JOIN {users} u ON u.id = cu.csm_id
        WHERE {condition}
        ORDER BY pc.{amount} DESC, cu.name
        LIMIT %s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        rows = cursor.fetchall()
    return [
        CustomerMovement(
            customer_id=r[0],
            external_id=r[1],
            name=r[2],
            segment=r[3],
            csm_name=r[4],
            opening=_cents(r[5]),
            closing=_cents(r[6]),
            amount=_cents(r[7]),
            new=_cents(r[8]),
            reactivation=_cents(r[9]),
            expansion=_cents(r[10]),
            contraction=_cents(r[11]),
            churn=_cents(r[12]),
        )
        for r in rows
    ]


# --- Monthly series for the Revenue page ----------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_revenue(*, scope: Scope, last_month: dt.date, months: int = 12) -> list[RevenueMetrics]:
    """Calendar months up to the month of `last_month` (that one up to that day): one query each."""
    out = []
    for i in range(months - 1, -1, -1):
        first = add_months(month_start(last_month), -i)
        last = min(add_months(first, 1) - dt.timedelta(days=1), last_month)
        out.append(revenue_metrics(scope=scope, start=first, end=last))
    return out


def customer_mrr_history(*, customer_id: int) -> list[tuple[dt.date, Decimal]]:
    """The ledger of one customer, oldest first."""
    return list(
        MrrEntry.objects.filter(customer_id=customer_id)
        .order_by("effective_date")
        .values_list("effective_date", "mrr")
    )


def customer_mrr_on(*, customer_ids: list[int], day: dt.date) -> dict[int, Decimal]:
    """MRR of each customer on `day` (latest ledger row ≤ day), in one query."""
    latest = MrrEntry.objects.filter(customer_id=OuterRef("pk"), effective_date__lte=day).order_by(
        "-effective_date"
    )
    rows = Customer.objects.filter(pk__in=customer_ids).annotate(mrr=Subquery(latest.values("mrr")[:1]))
    return {c.pk: c.mrr or Decimal("0.00") for c in rows}
