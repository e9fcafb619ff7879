"""The revenue engine: the sums every revenue metric of docs/metrics.md is a ratio of, from the MRR ledger.

A period needs no window at read time (the neighbours of each ledger row are materialised, see .ledger): the
movements are one pass over the period's rows, classified by MOVEMENT_RULES (the only classification), and
each customer's opening/closing MRR is the row in force on start - 1 / end. Money is summed exactly
(core.sql.cents_sql: numeric on PostgreSQL, integer cents on SQLite, which stores decimals as REAL) and the
identity closing = opening + new + reactivation + expansion - contraction - churn is checked to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from accounts.models import Customer
from core.db import reader
from core.sql import analytic_transaction, cents_sql, dollars, to_cents

from ..models import MrrEntry
from ..scope import Scope, adapt_date, q
from .ledger import MOVEMENT_RULES, in_force_before, in_force_during, in_force_on, not_replaced_by

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


class LedgerIdentityError(RuntimeError):
    """Σclosing ≠ Σopening + new + reactivation + expansion - contraction - churn: a bug, never a rounding."""


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
    c, o = cents_sql("c.mrr"), cents_sql("o.mrr")
    several, several_params = (" AND c.prev_date >= %s", [s]) if several_only else ("", [])
    sql = f"""COUNT(*) FILTER (WHERE {c} > 0), SUM({c}), SUM(CASE WHEN {c} < {o} THEN {c} ELSE {o} END)
            FROM {table} o
            JOIN {table} c ON c.customer_id = o.customer_id
                          AND c.effective_date >= %s AND {in_force_on("c")}{several}
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
    unchanged = f"effective_date < %s AND {not_replaced_by()} AND cents > 0"
    # The closing row of a customer with exactly one row in the period (its previous row is before it): the
    # customer is in S when prev > 0 (its opening), and its cohort terms are on this row alone.
    single = (
        f"effective_date >= %s AND {not_replaced_by()} AND (prev_date IS NULL OR prev_date < %s) AND prev > 0"
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
                   SUM(cents) FILTER (WHERE {not_replaced_by()}) AS closing,
                   {movements},
                   COUNT(*) FILTER (WHERE effective_date < %s AND cents > 0) AS n_s,
                   COUNT(*) FILTER (WHERE {not_replaced_by()} AND cents > 0) AS n_e,
                   COUNT(*) FILTER (WHERE ({unchanged}) OR ({single} AND cents > 0)) AS n_se,
                   SUM(cents) FILTER (WHERE {cohort}) AS s_closing,
                   SUM(CASE WHEN effective_date >= %s AND prev < cents THEN prev ELSE cents END)
                       FILTER (WHERE {cohort}) AS s_floor
            FROM (
                SELECT {key("l")}l.effective_date, l.next_date, l.prev_date, {cents_sql("l.mrr")} AS cents,
                       {cents_sql("l.prev_mrr")} AS prev, l.positive_before
                FROM {table} l
                WHERE {in_force_during("l")}{where_l}
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


def ledger_totals(*, scope: Scope, start: dt.date, end: dt.date) -> RevenueTotals:
    """Σopening, Σclosing, the five movements and the cohort sums S, E, S∩E (docs/metrics.md) from the
    ledger: one query. (revenue_totals reads the rollup when it can, else this.)"""
    sql, params = sums_sql(start=start, end=end, where=lambda alias: scope.sql(f"{alias}.customer_id"))
    # No savepoint when the caller already holds a transaction (the Revenue page asks for 13 periods).
    # Compiling these expressions (JIT) costs more than evaluating them on a million rows.
    with analytic_transaction(), reader().cursor() as cursor:
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
    unchanged = f"{not_replaced_by()} AND cents > 0"
    sql = f"""
        SELECT SUM(opening), SUM(n_s), SUM(n_se), SUM(s_closing), SUM(s_floor)
        FROM (
            SELECT SUM(cents) AS opening,
                   COUNT(*) FILTER (WHERE cents > 0) AS n_s,
                   COUNT(*) FILTER (WHERE {unchanged}) AS n_se,
                   SUM(cents) FILTER (WHERE {unchanged}) AS s_closing,
                   SUM(cents) FILTER (WHERE {unchanged}) AS s_floor
            FROM (
                SELECT l.next_date, {cents_sql("l.mrr")} AS cents FROM {table} l
                WHERE {in_force_before("l")}{where_l}
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
    """The cohort sums of ledger_totals (same values), from cohort_sql: one query."""
    sql, params = cohort_sql(start=start, end=end, where=lambda alias: scope.sql(f"{alias}.customer_id"))
    return _cohort_of_row(sql, params, start=start, end=end)


def _cohort_of_row(sql: str, params: Sequence[Any], *, start: dt.date, end: dt.date) -> Cohort:
    """Run a cohort query (one row: Σopening, |S|, |S ∩ E|, Σ_S closing, Σ_S min) with JIT off: its cost
    estimate would switch JIT on, and compiling takes longer than running it."""
    with analytic_transaction(), reader().cursor() as cursor:
        cursor.execute(sql, params)
        return _cohort(start, end, *cursor.fetchone())


def _cohort(start: dt.date, end: dt.date, opening, n_s, n_se, s_closing, s_floor) -> Cohort:
    """A Cohort from a cohort query's sums (Σopening, |S|, |S ∩ E|, Σ_S closing, Σ_S min)."""
    return Cohort(
        start=start,
        end=end,
        opening=dollars(opening),
        customers_start=int(n_s or 0),
        retained=int(n_se or 0),
        cohort_closing=dollars(s_closing),
        cohort_floor=dollars(s_floor),
    )


def _customers_cohort_sql(
    *, where: tuple[str, list[Any]], start: dt.date, end: dt.date, group: str | None
) -> tuple[str, list[Any]]:
    """cohort_of_customers's query, [grouped by `group`, an expression over the customer table as `cu`]."""
    ledger, customers = q(MrrEntry._meta.db_table), q(Customer._meta.db_table)
    s, e = adapt_date(start), adapt_date(end)
    row_on = f"SELECT l.mrr FROM {ledger} l WHERE l.customer_id = cu.id AND l.effective_date {{}} %s"  # noqa: S608
    latest = " ORDER BY l.effective_date DESC LIMIT 1"
    # OFFSET 0: PostgreSQL would otherwise inline the lookups into every expression that names them.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    o, c = cents_sql("o_mrr"), cents_sql("COALESCE(c_mrr, 0)")
    grp_out, grp_in, grp_by = ("grp, ", f"{group} AS grp, ", " GROUP BY grp") if group else ("", "", "")
    sql = f"""
        SELECT {grp_out}SUM({o}), COUNT(*) FILTER (WHERE {o} > 0),
               COUNT(*) FILTER (WHERE {o} > 0 AND {c} > 0), SUM({c}) FILTER (WHERE {o} > 0),
               SUM(CASE WHEN {c} < {o} THEN {c} ELSE {o} END) FILTER (WHERE {o} > 0)
        FROM (
            SELECT {grp_in}({row_on.format("<")}{latest}) AS o_mrr, ({row_on.format("<=")}{latest}) AS c_mrr
            FROM {customers} cu WHERE 1 = 1{where[0]}{fence}
        ) x
        WHERE o_mrr IS NOT NULL{grp_by}
    """  # noqa: S608
    return sql, [s, e, *where[1]]


def cohort_of_customers(*, where: tuple[str, list[Any]], start: dt.date, end: dt.date) -> Cohort:
    """cohort_totals for the customers `where` admits (SQL over the customer table as `cu`, e.g.
    " AND cu.csm_id IN (…)"), driven from those customers: each one's row in force on start - 1 and on end,
    two lookups through the (customer, date) index — for a few books, instead of reading the whole ledger."""
    sql, params = _customers_cohort_sql(where=where, start=start, end=end, group=None)
    return _cohort_of_row(sql, params, start=start, end=end)


def cohorts_of_customers(
    *, where: tuple[str, list[Any]], group: str, start: dt.date, end: dt.date
) -> dict[Any, Cohort]:
    """cohort_of_customers per value of `group` (an expression over the customer table as `cu`): one query,
    in the caller's transaction (a page's analytic_transaction). Groups without a customer paying on
    start - 1 are absent."""
    sql, params = _customers_cohort_sql(where=where, start=start, end=end, group=group)
    with reader().cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {key: _cohort(start, end, *sums) for key, *sums in rows}


def totals_from_sums(row: Sequence[Any], *, start: dt.date, end: dt.date, label: str = "") -> RevenueTotals:
    """RevenueTotals from a row of sums_sql (without its group column)."""
    return totals_from_cents(
        start=start,
        end=end,
        money=[to_cents(v) for v in row[:7]],
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
        opening=dollars(opening),
        closing=dollars(closing),
        new=dollars(new),
        reactivation=dollars(react),
        expansion=dollars(exp),
        contraction=dollars(contr),
        churn=dollars(churn),
        customers_start=int(counts[0] or 0),
        customers_end=int(counts[1] or 0),
        retained=int(counts[2] or 0),
        cohort_closing=dollars(cohort[0]),
        cohort_floor=dollars(cohort[1]),
    )
