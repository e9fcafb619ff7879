"""The SQL vocabulary of the MRR ledger: which row is in force on a day, and how a row moves MRR.

Every ledger row carries its neighbours (prev_mrr, positive_before, next_date, prev_date), materialised by
metrics.services.mrr_ledger_relink with a LAG/LEAD window per customer whenever the ledger is written. The row
in force on a day D is the latest with effective_date <= D: its next row (if any) is dated after D. The engine
and the dashboards' grouped variants read the ledger through these fragments, so they agree on it.

This is metric-domain SQL over metrics.MrrEntry's columns, so it lives with the revenue engine rather than
in core/sql.py (core knows no app's tables). Each fragment takes an optional table alias and leaves its
values as `%s` parameters, in the order its docstring gives.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from ..models import MrrEntry


def _prefix(alias: str) -> str:
    return f"{alias}." if alias else ""


def not_replaced_by(alias: str = "") -> str:
    """SQL: no later row is dated on or before a day D (`(next_date IS NULL OR next_date > D)`); with
    effective_date <= D known, the row is in force on D. Parameter: D."""
    a = _prefix(alias)
    return f"({a}next_date IS NULL OR {a}next_date > %s)"


def in_force_on(alias: str = "") -> str:
    """SQL: the row is the one in force on a day D. Parameters: D, D."""
    return f"{_prefix(alias)}effective_date <= %s AND {not_replaced_by(alias)}"


def in_force_before(alias: str = "") -> str:
    """SQL: the row is the one in force on the day before a day S (start - 1: a period's opening row).
    Parameters: S, S."""
    a = _prefix(alias)
    return f"{a}effective_date < %s AND ({a}next_date IS NULL OR {a}next_date >= %s)"


def in_force_during(alias: str = "") -> str:
    """SQL: the row is in force on some day of [S - 1, E] (the days a period [S, E] reads: its opening day
    and its own days). Parameters: E, S."""
    a = _prefix(alias)
    return f"{a}effective_date <= %s AND ({a}next_date IS NULL OR {a}next_date >= %s)"


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


def customer_period_sums(start: Any, end: Any) -> tuple[str, list[Any]]:
    """SQL select-list over one customer's rows in force during [S - 1, E] (columns effective_date,
    next_date, cents, prev, positive_before), and its parameters for the (adapted) days S and E: opening
    (the MRR in force on S - 1), closing (on E) and each movement of MOVEMENT_SQL dated in the period, in
    cents, named opening, closing and as MOVEMENT_SQL's keys."""
    movements = ",\n".join(
        f"SUM(CASE WHEN effective_date >= %s THEN {expr} ELSE 0 END) AS {name}"
        for name, expr in MOVEMENT_SQL.items()
    )
    sql = f"""SUM(CASE WHEN {in_force_before()} THEN cents ELSE 0 END) AS opening,
               SUM(CASE WHEN {in_force_on()} THEN cents ELSE 0 END) AS closing,
               {movements}"""
    return sql, [start, start, end, end, *[start] * len(MOVEMENT_SQL)]


def ledger_link_mismatches() -> int:
    """How many ledger rows carry links (prev_mrr, positive_before, next_date, prev_date) other than a fresh
    LAG/LEAD window over the ledger computes: 0 unless a writer skipped services.mrr_ledger_relink or two
    writers raced (docs/operations.md#failure-rules). The fault-injection tests run it after every
    concurrency test."""
    table = connection.ops.quote_name(MrrEntry._meta.db_table)
    window = "OVER (PARTITION BY customer_id ORDER BY effective_date"
    sql = f"""
        SELECT COUNT(*) FROM {table} t JOIN (
            SELECT id,
                   LAG(mrr, 1, 0) {window}) AS prev,
                   CASE WHEN MAX(mrr) {window} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > 0
                        THEN 1 ELSE 0 END AS positive_before,
                   LEAD(effective_date) {window}) AS next_date,
                   LAG(effective_date) {window}) AS prev_date
            FROM {table}
        ) w ON w.id = t.id
        WHERE t.prev_mrr <> w.prev OR (CASE WHEN t.positive_before THEN 1 ELSE 0 END) <> w.positive_before
           OR t.next_date IS DISTINCT FROM w.next_date OR t.prev_date IS DISTINCT FROM w.prev_date
    """  # noqa: S608 - the table name is ours
    if connection.vendor == "sqlite":
        sql = sql.replace("IS DISTINCT FROM", "IS NOT")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])
