"""Revenue metrics from the MRR ledger, exactly as docs/metrics.md defines them.

Every ledger row carries its neighbours (prev_mrr, positive_before, next_date), materialised by
services.mrr_ledger_relink with a LAG/LEAD window per customer whenever the ledger is written. So a period
needs no window at read time: the movements are one pass over the period's rows, classified by MOVEMENT_RULES
(the only classification), and each customer's opening/closing MRR is the row in force on start - 1 / end.
Money is summed exactly (numeric on PostgreSQL, integer cents on SQLite, which stores decimals as REAL) and
the identity closing = opening + new + reactivation + expansion - contraction - churn is checked to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from accounts.models import Customer, User

from .models import MrrEntry
from .scope import Scope, adapt_date, q

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


class LedgerIdentityError(RuntimeError):
    """Σclosing ≠ Σopening + new + reactivation + expansion - contraction - churn: a bug, never a rounding."""


def _dollars(value: Any) -> Decimal:
    """A money value from SQL (cents, or Decimal dollars on PostgreSQL) as Decimal dollars."""
    return (Decimal(_to_cents(value)) / 100).quantize(Decimal("0.01"))


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """docs/api.md: an undefined value (division by zero) is null, never 0."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


# docs/metrics.md "Movements", the one classification: each ledger row with effective_date in the period
# against prev, the MRR just before it (prev_mrr: the LAG window materialised by services.mrr_ledger_relink).
# Columns: cents = the row's MRR, prev = MRR before it, both in cents; positive_before = any earlier row > 0.
# Each movement is (condition, amount); MOVEMENT_SQL is the same rule as one CASE expression.
MOVEMENT_RULES = {
    "new_mrr": ("prev = 0 AND cents > 0 AND NOT positive_before", "cents"),
    "reactivation_mrr": ("prev = 0 AND cents > 0 AND positive_before", "cents"),
    "expansion_mrr": ("prev > 0 AND cents > prev", "cents - prev"),
    "contraction_mrr": ("cents > 0 AND cents < prev", "prev - cents"),
    "churned_mrr": ("prev > 0 AND cents = 0", "prev"),
}
MOVEMENT_SQL = {
    name: f"CASE WHEN {cond} THEN {amount} ELSE 0 END" for name, (cond, amount) in MOVEMENT_RULES.items()
}


def _cents(column: str) -> str:
    """Money as an exact number in SQL: PostgreSQL's numeric is exact already (its sums come back as Decimal
    dollars); SQLite stores decimals as REAL, so it sums whole cents instead."""
    if connection.vendor == "postgresql":
        return column
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def _to_cents(value: Any) -> int:
    if isinstance(value, Decimal):
        return int(value * 100) if connection.vendor == "postgresql" else int(value)
    return int(value or 0)


def _columns() -> str:
    return f"{_cents('mrr')} AS cents, {_cents('prev_mrr')} AS prev, positive_before"


# The row in force on a day D is the latest with effective_date <= D: its next row (if any) is after D.
_OPENING_ROW = "effective_date < %s AND (next_date IS NULL OR next_date >= %s)"  # in force on start - 1
_CLOSING_ROW = "effective_date <= %s AND (next_date IS NULL OR next_date > %s)"  # in force on end


def per_customer_sql(scope: Scope, start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """SQL of one row per customer with a ledger row in force at some day of [start - 1, end]: opening,
    closing (MRR on start - 1 and on end) and each movement of MOVEMENT_SQL, in cents."""
    table = q(MrrEntry._meta.db_table)
    scope_sql, scope_params = scope.sql("customer_id")
    s, e = adapt_date(start), adapt_date(end)
    movements = ",\n".join(
        f"SUM(CASE WHEN effective_date >= %s THEN {expr} ELSE 0 END) AS {name}"
        for name, expr in MOVEMENT_SQL.items()
    )
    sql = f"""
        SELECT customer_id,
               SUM(CASE WHEN {_OPENING_ROW} THEN cents ELSE 0 END) AS opening,
               SUM(CASE WHEN {_CLOSING_ROW} THEN cents ELSE 0 END) AS closing,
               {movements}
        FROM (
            SELECT customer_id, effective_date, next_date, {_columns()}
            FROM {table} WHERE effective_date <= %s AND (next_date IS NULL OR next_date >= %s){scope_sql}
        ) l
        GROUP BY customer_id
    """  # noqa: S608 - table and scope SQL are built by us; values are parameters
    return sql, [s, s, e, e, *[s] * len(MOVEMENT_SQL), e, s, *scope_params]


def _changed_cohort_sql(
    *,
    start: dt.date,
    end: dt.date,
    where: Callable[[str], tuple[str, list[Any]]],
    group: Callable[[str], str] | None,
    several_only: bool = False,
) -> tuple[str, list[Any]]:
    """The end of a SELECT: |S∩E|, Σ_S closing and Σ_S min(closing, opening) over the customers of S with
    rows in the period — each customer's opening row (whose next row is in the period) joined to its closing
    row (dated in the period, still in force on end) — [grouped by `group`]. `several_only`: only customers
    with two or more rows in the period (the closing row's previous row is in it too); sums_sql takes the
    others from their one row."""
    table = q(MrrEntry._meta.db_table)
    s, e = adapt_date(start), adapt_date(end)
    where_o, params_o = where("o")
    c, o = _cents("c.mrr"), _cents("o.mrr")
    several, several_params = (" AND c.prev_date >= %s", [s]) if several_only else ("", [])
    sql = f"""COUNT(*) FILTER (WHERE {c} > 0), SUM({c}), SUM(CASE WHEN {c} < {o} THEN {c} ELSE {o} END)
            FROM {table} o
            JOIN {table} c ON c.customer_id = o.customer_id
                          AND c.effective_date >= %s AND c.effective_date <= %s
                          AND (c.next_date IS NULL OR c.next_date > %s){several}
            WHERE o.effective_date < %s AND o.next_date >= %s AND o.next_date <= %s AND o.mrr > 0{where_o}
            {"GROUP BY " + group("o") if group else ""}"""
    return sql, [s, e, e, *several_params, s, s, e, *params_o]


def sums_sql(
    *,
    start: dt.date,
    end: dt.date,
    where: Callable[[str], tuple[str, list[Any]]] = lambda alias: ("", []),
    group: Callable[[str], str] | None = None,
) -> tuple[str, list[Any]]:
    """The sums every revenue metric is a ratio of, for the ledger rows `where(alias)` admits (the alias of
    the ledger table), summed over everything or per `group(alias)` (an expression over the ledger row;
    the alias is "l" or "o"). Columns: [group,] Σopening, Σclosing, the five MOVEMENT_RULES, |S|, |E|, |S∩E|,
    Σ_S closing, Σ_S min(closing, opening) — money in cents (numeric dollars on PostgreSQL).

    No window and no grouping per customer: every row in force on some day of [start - 1, end] is read once
    — the row in force on start - 1 is its customer's opening, the one in force on end its closing, those
    dated in the period are the movements (each against prev_mrr, materialised by mrr_ledger_relink). For the
    cohort S, a customer whose opening row is still in force on end (no row in the period) has closing =
    opening on that one row; a customer with one row in the period has its opening on that row too (prev_mrr,
    the MRR before it); only the customers with several rows in the period (the closing row's prev_date is in
    it) join their opening row (the one whose next row is in the period) to their closing row."""
    table = q(MrrEntry._meta.db_table)
    s, e = adapt_date(start), adapt_date(end)

    def key(alias: str) -> str:
        return f"{group(alias)} AS grp, " if group else ""

    grp_out, grp_by = ("grp, ", " GROUP BY grp") if group else ("", "")
    movements = ",\n".join(
        f"SUM({amount}) FILTER (WHERE effective_date >= %s AND {cond}) AS m{i}"
        for i, (cond, amount) in enumerate(MOVEMENT_RULES.values())
    )
    unchanged = "effective_date < %s AND (next_date IS NULL OR next_date > %s) AND cents > 0"
    # The closing row of a customer with exactly one row in the period (its previous row is before it): the
    # customer is in S when prev > 0 (its opening), and its cohort terms are on this row alone.
    single = (
        "effective_date >= %s AND (next_date IS NULL OR next_date > %s)"
        " AND (prev_date IS NULL OR prev_date < %s) AND prev > 0"
    )
    cohort = f"({unchanged}) OR ({single})"
    where_l, params_l = where("l")
    changed_sql, changed_params = _changed_cohort_sql(
        start=start, end=end, where=where, group=group, several_only=True
    )
    zeros = ", ".join(["0"] * (2 + len(MOVEMENT_RULES) + 2))
    movement_sums = ", ".join(f"SUM(m{i})" for i in range(len(MOVEMENT_RULES)))
    sql = f"""
        SELECT {grp_out}SUM(opening), SUM(closing), {movement_sums},
               SUM(n_s), SUM(n_e), SUM(n_se), SUM(s_closing), SUM(s_floor)
        FROM (
            SELECT {grp_out}SUM(cents) FILTER (WHERE effective_date < %s) AS opening,
                   SUM(cents) FILTER (WHERE next_date IS NULL OR next_date > %s) AS closing,
                   {movements},
                   COUNT(*) FILTER (WHERE effective_date < %s AND cents > 0) AS n_s,
                   COUNT(*) FILTER (WHERE (next_date IS NULL OR next_date > %s) AND cents > 0) AS n_e,
                   COUNT(*) FILTER (WHERE ({unchanged}) OR ({single} AND cents > 0)) AS n_se,
                   SUM(cents) FILTER (WHERE {cohort}) AS s_closing,
                   SUM(CASE WHEN effective_date >= %s AND prev < cents THEN prev ELSE cents END)
                       FILTER (WHERE {cohort}) AS s_floor
            FROM (
                SELECT {key("l")}l.effective_date, l.next_date, l.prev_date, {_cents("l.mrr")} AS cents,
                       {_cents("l.prev_mrr")} AS prev, l.positive_before
                FROM {table} l
                WHERE l.effective_date <= %s AND (l.next_date IS NULL OR l.next_date >= %s){where_l}
            ) r{grp_by}
            UNION ALL
            SELECT {key("o")}{zeros}, {changed_sql}
        ) x{grp_by}
    """  # noqa: S608 - table names, aliases and conditions are ours; values are parameters
    both = [s, e, s, e, s]  # the parameters of `unchanged` then `single`
    params = [s, e, *[s] * len(MOVEMENT_RULES), s, e, *both, *both, s, *both, e, s]
    return sql, [*params, *params_l, *changed_params]


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
    """Σopening, Σclosing, the five movements and the cohort sums S, E, S∩E (docs/metrics.md): one query."""
    sql, params = sums_sql(start=start, end=end, where=lambda alias: scope.sql(f"{alias}.customer_id"))
    # No savepoint when the caller already holds a transaction (the Revenue page asks for 13 periods).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling these expressions (JIT) costs more than evaluating them on a million rows.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return totals_from_sums(row, start=start, end=end)


def cohort_sql(
    *, start: dt.date, end: dt.date, where: Callable[[str], tuple[str, list[Any]]] = lambda alias: ("", [])
) -> tuple[str, list[Any]]:
    """sums_sql reduced to the cohort S (customers paying on start - 1): Σopening, |S|, |S∩E|,
    Σ_S closing, Σ_S min(closing, opening). It reads only the rows in force on start - 1 (and the changed
    customers' closing rows), not the period's movements."""
    table = q(MrrEntry._meta.db_table)
    s, e = adapt_date(start), adapt_date(end)
    where_l, params_l = where("l")
    changed_sql, changed_params = _changed_cohort_sql(start=start, end=end, where=where, group=None)
    unchanged = "(next_date IS NULL OR next_date > %s) AND cents > 0"
    sql = f"""
        SELECT SUM(opening), SUM(n_s), SUM(n_se), SUM(s_closing), SUM(s_floor)
        FROM (
            SELECT SUM(cents) AS opening,
                   COUNT(*) FILTER (WHERE cents > 0) AS n_s,
                   COUNT(*) FILTER (WHERE {unchanged}) AS n_se,
                   SUM(cents) FILTER (WHERE {unchanged}) AS s_closing,
                   SUM(cents) FILTER (WHERE {unchanged}) AS s_floor
            FROM (
                SELECT l.next_date, {_cents("l.mrr")} AS cents FROM {table} l
                WHERE l.effective_date < %s AND (l.next_date IS NULL OR l.next_date >= %s){where_l}
            ) r
            UNION ALL
            SELECT 0, 0, {changed_sql}
        ) x
    """  # noqa: S608
    return sql, [e, e, e, s, s, *params_l, *changed_params]


@dataclass(frozen=True)
class Cohort:
    """The part of RevenueTotals about the cohort S (docs/metrics.md): enough for nrr, grr, the customer
    retention and churn rates and churned_customers, which are ratios of these sums only."""

    start: dt.date
    end: dt.date
    opening: Decimal  # Σopening (= Σ_S opening: a customer outside S opens at 0)
    customers_start: int  # |S|
    retained: int  # |S ∩ E|
    cohort_closing: Decimal  # Σ_S closing
    cohort_floor: Decimal  # Σ_S min(closing, opening)


def cohort_totals(*, scope: Scope, start: dt.date, end: dt.date) -> Cohort:
    """The cohort sums of revenue_totals (same values), from cohort_sql: one query."""
    sql, params = cohort_sql(start=start, end=end, where=lambda alias: scope.sql(f"{alias}.customer_id"))
    return _cohort_of_row(sql, params, start=start, end=end)


def _cohort_of_row(sql: str, params: Sequence[Any], *, start: dt.date, end: dt.date) -> Cohort:
    """Run a cohort query (one row: Σopening, |S|, |S ∩ E|, Σ_S closing, Σ_S min) with JIT off: its cost
    estimate would switch JIT on, and compiling takes longer than running it."""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        opening, n_s, n_se, s_closing, s_floor = cursor.fetchone()
    return Cohort(
        start=start,
        end=end,
        opening=_dollars(_to_cents(opening)),
        customers_start=int(n_s or 0),
        retained=int(n_se or 0),
        cohort_closing=_dollars(_to_cents(s_closing)),
        cohort_floor=_dollars(_to_cents(s_floor)),
    )


def cohort_of_customers(*, where: tuple[str, list[Any]], start: dt.date, end: dt.date) -> Cohort:
    """cohort_totals for the customers `where` admits (SQL over the customer table as `cu`, e.g.
    " AND cu.csm_id IN (…)"), driven from those customers: each one's row in force on start - 1 and on end,
    two lookups through the (customer, date) index — for a few books, instead of reading the whole ledger."""
    ledger, customers = q(MrrEntry._meta.db_table), q(Customer._meta.db_table)
    s, e = adapt_date(start), adapt_date(end)
    row_on = f"SELECT l.mrr FROM {ledger} l WHERE l.customer_id = cu.id AND l.effective_date {{}} %s"  # noqa: S608
    latest = " ORDER BY l.effective_date DESC LIMIT 1"
    # OFFSET 0: PostgreSQL would otherwise inline the lookups into every expression that names them.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    o, c = _cents("o_mrr"), _cents("COALESCE(c_mrr, 0)")
    sql = f"""
        SELECT SUM({o}), COUNT(*) FILTER (WHERE {o} > 0), COUNT(*) FILTER (WHERE {o} > 0 AND {c} > 0),
               SUM({c}) FILTER (WHERE {o} > 0),
               SUM(CASE WHEN {c} < {o} THEN {c} ELSE {o} END) FILTER (WHERE {o} > 0)
        FROM (
            SELECT ({row_on.format("<")}{latest}) AS o_mrr, ({row_on.format("<=")}{latest}) AS c_mrr
            FROM {customers} cu WHERE 1 = 1{where[0]}{fence}
        ) x
        WHERE o_mrr IS NOT NULL
    """  # noqa: S608
    return _cohort_of_row(sql, [s, e, *where[1]], start=start, end=end)


def totals_from_sums(row: Sequence[Any], *, start: dt.date, end: dt.date, label: str = "") -> RevenueTotals:
    """RevenueTotals from a row of sums_sql (without its group column)."""
    return totals_from_cents(
        start=start,
        end=end,
        money=[_to_cents(v) for v in row[:7]],
        counts=row[7:10],
        cohort=row[10:12],
        label=label,
    )


def totals_from_cents(
    *,
    start: dt.date,
    end: dt.date,
    money: Sequence[int],
    counts: Sequence[Any],
    cohort: Sequence[Any],
    label: str = "",
) -> RevenueTotals:
    """RevenueTotals from database sums, checking the docs/metrics.md identity exactly.

    `money` = (opening, closing, new, reactivation, expansion, contraction, churn) in integer cents;
    `counts` = (|S|, |E|, |S ∩ E|); `cohort` = (Σ_S closing, Σ_S min(closing, opening)) in any numeric type.
    """
    opening, closing, new, react, exp, contr, churn = money
    # docs/metrics.md identity, checked in integer cents: exact, whatever the database.
    if closing != opening + new + react + exp - contr - churn:
        raise LedgerIdentityError(
            f"{label}{start}..{end}: closing {closing} != opening {opening} + new {new}"
            f" + reactivation {react} + expansion {exp} - contraction {contr} - churn {churn} (cents)"
        )
    return RevenueTotals(
        start=start,
        end=end,
        opening=_dollars(opening),
        closing=_dollars(closing),
        new=_dollars(new),
        reactivation=_dollars(react),
        expansion=_dollars(exp),
        contraction=_dollars(contr),
        churn=_dollars(churn),
        customers_start=int(counts[0] or 0),
        customers_end=int(counts[1] or 0),
        retained=int(counts[2] or 0),
        cohort_closing=_dollars(_to_cents(cohort[0])),
        cohort_floor=_dollars(_to_cents(cohort[1])),
    )


# --- One function per docs/metrics.md definition -----------------------------------------------------


def arr(t: RevenueTotals) -> Decimal:
    """docs/metrics.md arr_end: 12 x mrr_end."""
    return t.closing * 12


def nrr(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md nrr: Σ_S closing ÷ Σ_S opening."""
    return _ratio(t.cohort_closing, t.opening)


def grr(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md grr: Σ_S min(closing, opening) ÷ Σ_S opening (never above 1)."""
    return _ratio(t.cohort_floor, t.opening)


def new_customers(t: RevenueTotals) -> int:
    """docs/metrics.md N = E \\ S: paying at the end, not at the start (new logos and reactivations)."""
    return t.customers_end - t.retained


def churned_customers(t: RevenueTotals | Cohort) -> int:
    """docs/metrics.md churned_customers = |S| - |S∩E|."""
    return t.customers_start - t.retained


def customer_retention_rate(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md customer_retention_rate: (|E| - |N|) ÷ |S|, where |E| - |N| = |E ∩ S| (N = E \\ S)."""
    return _ratio(t.retained, t.customers_start)


def customer_churn_rate(t: RevenueTotals | Cohort) -> Decimal | None:
    """docs/metrics.md customer_churn_rate: 1 - customer_retention_rate."""
    retention = customer_retention_rate(t)
    return None if retention is None else 1 - retention


def gross_mrr_churn_rate(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md gross_mrr_churn_rate: (churn + contraction) ÷ mrr_start."""
    return _ratio(t.churn + t.contraction, t.opening)


def net_mrr_churn_rate(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md net_mrr_churn_rate: (churn + contraction - expansion - reactivation) ÷ mrr_start."""
    return _ratio(t.churn + t.contraction - t.expansion - t.reactivation, t.opening)


def quick_ratio(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md quick_ratio: (new + reactivation + expansion) ÷ (churn + contraction)."""
    return _ratio(t.new + t.reactivation + t.expansion, t.churn + t.contraction)


def arpa(t: RevenueTotals) -> Decimal | None:
    """docs/metrics.md arpa: mrr_end ÷ |E|."""
    return _ratio(t.closing, t.customers_end)


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
            opening=_dollars(r[5]),
            closing=_dollars(r[6]),
            amount=_dollars(r[7]),
            new=_dollars(r[8]),
            reactivation=_dollars(r[9]),
            expansion=_dollars(r[10]),
            contraction=_dollars(r[11]),
            churn=_dollars(r[12]),
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
    with transaction.atomic():  # one transaction (and snapshot) for the whole series
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
