"""The revenue rollup (docs/metrics.md#revenue-rollup): a calendar month, quarter or year (or one of them to
date) read from sums kept per CSM, segment and period instead of the ledger, to the cent the engine's figures.

Per customer and period in which it has ledger rows (RevenueRollupCustomer): its opening and closing MRR and
its movements. Per cell (CSM, segment) and period (RevenueRollupCell): their sums. A period's figures are then
- Σopening / Σclosing and |S| / |E|: the months' Σ(closing - opening) and Σ([closing > 0] - [opening > 0])
  before the start / up to the end (they add up to each customer's MRR on a month end, 0 before any row);
- the movements: the period's row;
- the cohort sums: a customer without rows in the period closes at its opening, so Σ_S closing =
  (Σopening - Σ opening of the customers with rows) + their Σ_S closing, and likewise Σ_S min(closing,
  opening) and |S ∩ E| = (|S| - their |S|) + their |S ∩ E|.

Exact however the ledger is written: database triggers mark every customer whose ledger rows, CSM or segment
change (RevenueRollupMark, migration metrics/0019), in the writer's transaction. A reader takes the stored
sums minus the marked customers' stored rows and adds those customers' figures from the ledger (the engine's
own query, restricted to them), all in one statement; revenue_rollup_refresh rebuilds the marked customers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from core.db import reader
from core.sql import advisory_lock, analytic_transaction, chunked, in_list, placeholders, to_cents

from ..models import MrrEntry, RevenueRollupCell, RevenueRollupCustomer, RevenueRollupMark, RevenueRollupState
from ..scope import Scope, adapt_date, q
from .engine import RevenueTotals, ledger_totals, sums_sql, totals_from_cents
from .ledger import MOVEMENT_SQL

KINDS = (1, 3, 12)  # months in a calendar month, quarter and year (PeriodKind)
# More marked customers than this: the reader takes the ledger (their facts would cost about as much).
MAX_MARKED = 2000

MOVEMENT_COLUMNS = ("new_cents", "reactivation_cents", "expansion_cents", "contraction_cents", "churn_cents")
# RevenueRollupCell's sums, each a sum over RevenueRollupCustomer's rows `r` of the expression.
_PAYING_OPEN = "CASE WHEN r.open_cents > 0 THEN 1 ELSE 0 END"
_FLOOR = "CASE WHEN r.close_cents < r.open_cents THEN r.close_cents ELSE r.open_cents END"
CELL_SUMS = {
    "delta_cents": "r.close_cents - r.open_cents",
    "delta_paying": f"(CASE WHEN r.close_cents > 0 THEN 1 ELSE 0 END) - ({_PAYING_OPEN})",
    **{column: f"r.{column}" for column in MOVEMENT_COLUMNS},
    "changed_open_cents": "r.open_cents",
    "changed_start": _PAYING_OPEN,
    "changed_retained": "CASE WHEN r.open_cents > 0 AND r.close_cents > 0 THEN 1 ELSE 0 END",
    "changed_closing_cents": "CASE WHEN r.open_cents > 0 THEN r.close_cents ELSE 0 END",
    "changed_floor_cents": f"CASE WHEN r.open_cents > 0 THEN {_FLOOR} ELSE 0 END",
}
CELL_KEY = ("csm_key", "segment", "kind", "period_start")


# --- Calendar periods -------------------------------------------------------------------------------------


def period_start(kind: int, day: dt.date) -> dt.date:
    """The first day of the calendar month (1), quarter (3) or year (12) containing `day`."""
    return day.replace(month=(day.month - 1) // kind * kind + 1, day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def calendar_period(start: dt.date, end: dt.date) -> tuple[int, dt.date] | None:
    """(kind, first day after it) of the shortest calendar month, quarter or year that starts on `start` and
    contains `end`; None when no such period (the reader then takes the ledger)."""
    for kind in KINDS:
        if start == period_start(kind, start) and start <= end < add_months(start, kind):
            return kind, add_months(start, kind)
    return None


def _period_start_sql(kind: int, day: str) -> str:
    """SQL: the first day of the calendar period of `kind` months containing the date expression `day`."""
    if connection.vendor == "postgresql":
        unit = {1: "month", 3: "quarter", 12: "year"}[kind]
        return f"CAST(date_trunc('{unit}', {day}) AS date)"
    if kind == 1:
        return f"strftime('%%Y-%%m-01', {day})"
    if kind == 12:
        return f"strftime('%%Y-01-01', {day})"
    month = f"CAST(strftime('%%m', {day}) AS INTEGER)"
    return f"printf('%%s-%%02d-01', strftime('%%Y', {day}), ({month} - 1) / 3 * 3 + 1)"


def _plus_months_sql(kind: int, day: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST({day} + interval '{kind} months' AS date)"
    return f"date({day}, '+{kind} months')"


def _int_cents(column: str) -> str:
    """SQL: a money column as integer cents (exact: the column has two decimal places)."""
    if connection.vendor == "postgresql":
        return f"CAST({column} * 100 AS BIGINT)"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


# --- Building -----------------------------------------------------------------------------------------------


def _customer_rows_sql(where: str) -> str:
    """SELECT of RevenueRollupCustomer's rows of the customers `where` admits (a suffix over the ledger `l`):
    per customer and calendar period with rows, the MRR before its first row of the period (its prev_mrr),
    after its last (the one whose next row is in a later period), and MOVEMENT_SQL over its rows. In customer
    order: a customer's rows are stored together, so a reader of a few marked customers reads few pages."""
    ledger, customers = q(MrrEntry._meta.db_table), q(Customer._meta.db_table)
    per_kind = " UNION ALL ".join(
        f"""SELECT l.customer_id, COALESCE(cu.csm_id, 0) AS csm_key, cu.segment, {kind} AS kind,
                   {_period_start_sql(kind, "l.effective_date")} AS ps, l.prev_date, l.next_date,
                   {_int_cents("l.mrr")} AS cents, {_int_cents("l.prev_mrr")} AS prev, l.positive_before
            FROM {ledger} l JOIN {customers} cu ON cu.id = l.customer_id WHERE 1 = 1{where}"""  # noqa: S608
        for kind in KINDS
    )
    next_start = "CASE kind " + " ".join(f"WHEN {k} THEN {_plus_months_sql(k, 'ps')}" for k in KINDS) + " END"
    movements = ", ".join(f"SUM({MOVEMENT_SQL[name]})" for name in MOVEMENT_SQL)
    return f"""
        SELECT customer_id, kind, ps, csm_key, segment,
               SUM(CASE WHEN prev_date IS NULL OR prev_date < ps THEN prev ELSE 0 END),
               SUM(CASE WHEN next_date IS NULL OR next_date >= {next_start} THEN cents ELSE 0 END),
               {movements}
        FROM ({per_kind}) x
        GROUP BY customer_id, kind, ps, csm_key, segment
        ORDER BY customer_id
    """  # noqa: S608 - tables, columns and expressions are ours


def _insert_customer_rows(cursor, where: str, params: Sequence[Any]) -> None:
    columns = ("customer_id", "kind", "period_start", "csm_key", "segment", "open_cents", "close_cents")
    table = q(RevenueRollupCustomer._meta.db_table)
    sql = _customer_rows_sql(where)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join((*columns, *MOVEMENT_COLUMNS))}) {sql}",
        [*params] * len(KINDS),
    )


def _cell_sums_sql(*, sign: str = "", where: str = "") -> str:
    """SELECT of RevenueRollupCell's key and sums over the RevenueRollupCustomer rows `r` `where` admits."""
    table = q(RevenueRollupCustomer._meta.db_table)
    keys = ", ".join(f"r.{k}" for k in CELL_KEY)
    sums = ", ".join(f"{sign}SUM({expr})" for expr in CELL_SUMS.values())
    return f"SELECT {keys}, {sums} FROM {table} r WHERE 1 = 1{where} GROUP BY {keys}"  # noqa: S608


def _add_cells(cursor, *, sign: str, where: str, params: Sequence[Any]) -> None:
    """Add (sign "") or subtract (sign "-") the rows `where` admits to their cells."""
    table = q(RevenueRollupCell._meta.db_table)
    columns = ", ".join((*CELL_KEY, *CELL_SUMS))
    update = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in CELL_SUMS)
    cursor.execute(
        f"""INSERT INTO {table} ({columns}) {_cell_sums_sql(sign=sign, where=where)}
            ON CONFLICT ({", ".join(CELL_KEY)}) DO UPDATE SET {update}""",
        list(params),
    )


def _build_all(cursor) -> None:
    cells, customers = q(RevenueRollupCell._meta.db_table), q(RevenueRollupCustomer._meta.db_table)
    cursor.execute(f"DELETE FROM {cells}")  # noqa: S608
    cursor.execute(f"DELETE FROM {customers}")  # noqa: S608
    _insert_customer_rows(cursor, "", [])
    columns = ", ".join((*CELL_KEY, *CELL_SUMS))
    cursor.execute(f"INSERT INTO {cells} ({columns}) {_cell_sums_sql()}", [])
    if connection.vendor == "postgresql":  # statistics now: the refreshes' plans look a few customers up
        cursor.execute(f"ANALYZE {customers}")
        cursor.execute(f"ANALYZE {cells}")


def _rebuild_customers(cursor, customer_ids: Sequence[int]) -> None:
    customers = q(RevenueRollupCustomer._meta.db_table)
    for chunk in chunked(list(customer_ids)):
        where, params = in_list("r.customer_id", chunk)
        _add_cells(cursor, sign="-", where=where, params=params)
        cursor.execute(f"DELETE FROM {customers} WHERE customer_id IN ({placeholders(len(chunk))})", chunk)  # noqa: S608
        where_l, params_l = in_list("l.customer_id", chunk)
        where_cu, params_cu = in_list("cu.id", chunk)
        _insert_customer_rows(cursor, where_l + where_cu, params_l + params_cu)
        _add_cells(cursor, sign="", where=where, params=params)


def revenue_rollup_refresh() -> int:
    """Build the revenue rollup: every customer when it is not built yet, else the marked customers
    (RevenueRollupMark). Returns how many customers it rebuilt (-1: all). One transaction under an advisory
    lock; the marks are read first and only those are deleted, so a write committing meanwhile keeps its mark
    (its customer is read from the ledger until the next refresh)."""
    with advisory_lock("cshub-revenue-rollup"), transaction.atomic(), analytic_transaction():
        marks = list(RevenueRollupMark.objects.values_list("pk", "customer_id"))
        built = RevenueRollupState.objects.exists()
        with connection.cursor() as cursor:
            if not built:
                _build_all(cursor)
                RevenueRollupState.objects.create(built_at=timezone.now())
            else:
                _rebuild_customers(cursor, sorted({customer for _pk, customer in marks}))
        for chunk in chunked([pk for pk, _customer in marks]):
            RevenueRollupMark.objects.filter(pk__in=chunk).delete()
    return -1 if not built else len({customer for _pk, customer in marks})


# --- Reading ------------------------------------------------------------------------------------------------


def _cells_where(scope: Scope, alias: str) -> tuple[str, list[Any]]:
    """The cells (CSM, segment) of `scope`'s customers, as a WHERE suffix over rows `alias`."""
    sql, params = "", []
    if scope.csm is not None:
        sql, params = f" AND {alias}.csm_key = %s", [scope.csm.pk]
    if scope.csm_ids is not None:
        more, more_params = in_list(f"{alias}.csm_key", scope.csm_ids)
        sql, params = sql + more, params + more_params
    if scope.segment:
        sql, params = sql + f" AND {alias}.segment = %s", [*params, scope.segment]
    return sql, params


def rollup_marks() -> list[int] | None:
    """The marked customers, or None when the rollup cannot answer (not built yet, or more than MAX_MARKED
    marked customers): one query."""
    marks, state = q(RevenueRollupMark._meta.db_table), q(RevenueRollupState._meta.db_table)
    with reader().cursor() as cursor:
        cursor.execute(
            f"""SELECT (SELECT COUNT(*) FROM {state}), m.customer_id
                FROM (SELECT 1 AS one) x
                LEFT JOIN (SELECT DISTINCT customer_id FROM {marks} LIMIT %s) m ON 1 = 1""",  # noqa: S608
            [MAX_MARKED + 1],
        )
        rows = cursor.fetchall()
    marked = [customer for _built, customer in rows if customer is not None]
    return None if not rows[0][0] or len(marked) > MAX_MARKED else marked


# The marks read once for several periods (reading_marks_once: the Revenue page's 12 months).
_marks_read: ContextVar[list[int] | bool | None] = ContextVar("revenue_rollup_marks", default=False)


@contextmanager
def reading_marks_once() -> Iterator[None]:
    """Read the marks once for every rollup_totals inside the block (a series of periods): a customer's
    figures stay whole either way, its stored rows and its ledger rows being read by one statement."""
    token = _marks_read.set(rollup_marks())
    try:
        yield
    finally:
        _marks_read.reset(token)


def rollup_totals(*, scope: Scope, start: dt.date, end: dt.date) -> RevenueTotals | None:
    """revenue_totals from the rollup, or None when it cannot answer: not built yet, a period that is not a
    calendar month, quarter or year (or one of them to a day after which it has no ledger row yet), one
    customer's scope (its ledger rows are few), or more than MAX_MARKED marked customers. Two queries (one
    inside reading_marks_once)."""
    period = calendar_period(start, end)
    if period is None or scope.customer is not None:
        return None
    marked = _marks_read.get()
    if marked is False:
        marked = rollup_marks()
    if marked is None or marked is False:
        return None
    kind, after = period
    sql, params = _rollup_sql(scope=scope, kind=kind, start=start, end=end, after=after, marked=marked)
    with reader().cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    built, rows_after, *sums = row
    if not built or rows_after:
        return None
    return _totals(sums, start=start, end=end)


def _rollup_sql(
    *, scope: Scope, kind: int, start: dt.date, end: dt.date, after: dt.date, marked: list[int]
) -> tuple[str, list[Any]]:
    """One statement (one snapshot): whether the rollup is built, whether the ledger has rows after `end` in
    the period, the rollup's sums of the scope's cells without the marked customers' stored rows, and (when
    there are marked customers) the engine's sums of the marked customers in scope, from the ledger."""
    s, e, a = adapt_date(start), adapt_date(end), adapt_date(after)
    cells, rows = q(RevenueRollupCell._meta.db_table), q(RevenueRollupCustomer._meta.db_table)
    ledger, state = q(MrrEntry._meta.db_table), q(RevenueRollupState._meta.db_table)
    wanted = "(kind = 1 AND period_start <= %s OR kind = %s AND period_start = %s)"
    wanted_params = [e, kind, s]
    cells_where, cells_params = _cells_where(scope, "c")
    parts = [f"SELECT kind, period_start, {', '.join(CELL_SUMS)} FROM {cells} c WHERE {wanted}{cells_where}"]  # noqa: S608
    params: list[Any] = [*wanted_params, *cells_params]
    if marked:
        marked_where, marked_params = in_list("r.customer_id", marked)
        rows_where, rows_params = _cells_where(scope, "r")
        negated = ", ".join(f"-({expr})" for expr in CELL_SUMS.values())
        parts.append(
            f"SELECT kind, period_start, {negated} FROM {rows} r WHERE {wanted}{marked_where}{rows_where}"  # noqa: S608
        )
        params += [*wanted_params, *marked_params, *rows_params]
    in_period = "kind = %s AND period_start = %s"
    period_sums = ", ".join(
        f"SUM({column}) FILTER (WHERE {in_period})" for column in (*MOVEMENT_COLUMNS, *list(CELL_SUMS)[-5:])
    )
    rollup = f"""
        SELECT (SELECT COUNT(*) FROM {state}) AS built,
               (SELECT COUNT(*) FROM (SELECT 1 FROM {ledger} WHERE effective_date > %s AND effective_date < %s
                                      LIMIT 1) a) AS rows_after,
               SUM(delta_cents) FILTER (WHERE kind = 1 AND period_start < %s),
               SUM(delta_cents) FILTER (WHERE kind = 1 AND period_start <= %s),
               SUM(delta_paying) FILTER (WHERE kind = 1 AND period_start < %s),
               SUM(delta_paying) FILTER (WHERE kind = 1 AND period_start <= %s),
               {period_sums}
        FROM ({" UNION ALL ".join(parts)}) p
    """  # noqa: S608 - tables, columns and expressions are ours; values are parameters
    rollup_params = [e, a, s, e, s, e, *[kind, s] * (len(MOVEMENT_COLUMNS) + 5), *params]
    if not marked:
        return rollup, rollup_params

    def where(alias: str) -> tuple[str, list[Any]]:
        ids_sql, ids_params = in_list(f"{alias}.customer_id", marked)
        scope_sql, scope_params = scope.sql(f"{alias}.customer_id")
        return ids_sql + scope_sql, [*ids_params, *scope_params]

    facts, facts_params = sums_sql(start=start, end=end, where=where)
    sql = f"SELECT * FROM ({rollup}) rollup CROSS JOIN ({facts}) facts"  # noqa: S608 - both are ours
    return sql, [*rollup_params, *facts_params]


def _totals(sums: Sequence[Any], *, start: dt.date, end: dt.date) -> RevenueTotals:
    """RevenueTotals from _rollup_sql's sums after its two flags (rollup in integer cents, then the facts'
    sums_sql row when there are marked customers)."""
    opening, closing, n_s, n_e, *rest = [int(v or 0) for v in sums[:14]]
    movements, (ch_open, ch_s, ch_se, ch_closing, ch_floor) = rest[:5], rest[5:10]
    money = [opening, closing, *movements]
    counts = [n_s, n_e, n_s - ch_s + ch_se]
    cohort = [opening - ch_open + ch_closing, opening - ch_open + ch_floor]
    facts = sums[14:]
    if facts:
        money = [m + to_cents(f) for m, f in zip(money, facts[:7], strict=True)]
        counts = [c + int(f or 0) for c, f in zip(counts, facts[7:10], strict=True)]
        cohort = [c + to_cents(f) for c, f in zip(cohort, facts[10:12], strict=True)]
    return totals_from_cents(start=start, end=end, money=money, counts=counts, cohort=cohort, label="rollup ")


def revenue_totals(*, scope: Scope, start: dt.date, end: dt.date) -> RevenueTotals:
    """Σopening, Σclosing, the five movements and the cohort sums S, E, S∩E (docs/metrics.md): from the
    rollup for a calendar month, quarter or year (two queries), else from the ledger (engine.ledger_totals,
    one query)."""
    with analytic_transaction():
        totals = rollup_totals(scope=scope, start=start, end=end)
        return totals if totals is not None else ledger_totals(scope=scope, start=start, end=end)
