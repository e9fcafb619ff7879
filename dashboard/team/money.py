"""Money per CSM for the team page: each book's revenue (the engine's sums, grouped by CSM) and renewals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, F, Q, Sum, When
from django.db.models.functions import Coalesce, Least

from accounts.models import Customer
from core.db import reader
from core.numbers import quantize_money
from core.sql import MONEY_FIELD, ZERO_MONEY, analytic_transaction, cents_sql, in_list
from metrics import revenue
from metrics.models import MrrEntry, Outcome, Renewal
from metrics.revenue import MOVEMENT_SQL, RevenueTotals
from metrics.revenue.ledger import customer_period_sums, in_force_during
from metrics.scope import adapt_date, q

FEW_CSMS = 20  # up to this many books, revenue_by_csm drives from the customers (see there)

# --- Revenue, grouped by CSM ----------------------------------------------------------------------
# The engine's own definitions (metrics.revenue: the ledger's in-force rows and MOVEMENT_SQL, money in exact
# cents from core.sql) keep the grouped figures identical to revenue_totals() to the cent.

_COHORT_SUMS = """
               SUM(CASE WHEN opening > 0 THEN 1 ELSE 0 END) AS n_s,
               SUM(CASE WHEN closing > 0 THEN 1 ELSE 0 END) AS n_e,
               SUM(CASE WHEN opening > 0 AND closing > 0 THEN 1 ELSE 0 END) AS n_se,
               SUM(CASE WHEN opening > 0 THEN closing ELSE 0 END) AS s_closing,
               SUM(CASE WHEN opening > 0 AND closing < opening THEN closing
                        WHEN opening > 0 THEN opening ELSE 0 END) AS s_floor"""


def _walk_sql(csm_ids: Sequence[int], start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """Per customer of the books: opening, closing and movements of its rows in force in [start - 1, end]."""
    ledger, customers = q(MrrEntry._meta.db_table), q(Customer._meta.db_table)
    csm_sql, csm_params = in_list("cu.csm_id", csm_ids)
    s, e = adapt_date(start), adapt_date(end)
    sums, sums_params = customer_period_sums(s, e)
    movement_sums = ", ".join(f"SUM({name})" for name in MOVEMENT_SQL)
    in_window = in_force_during("l")
    if connection.vendor == "postgresql":
        source = f"""FROM {customers} cu CROSS JOIN LATERAL (
                         SELECT * FROM {ledger} l WHERE l.customer_id = cu.id AND {in_window}
                         OFFSET 0) l"""  # noqa: S608 - OFFSET 0: keep the planner from flattening it into a hash
    else:  # SQLite has no LATERAL; its planner walks the customer index on its own
        source = f"FROM {ledger} l JOIN {customers} cu ON cu.id = l.customer_id AND {in_window}"
    sql = f"""
        SELECT csm_id, SUM(opening), SUM(closing), {movement_sums}, {_COHORT_SUMS}
        FROM (
            SELECT customer_id, csm_id,
                   {sums}
            FROM (
                SELECT l.customer_id, cu.csm_id, l.effective_date, l.next_date,
                       {cents_sql("l.mrr")} AS cents, {cents_sql("l.prev_mrr")} AS prev, l.positive_before
                {source}
                WHERE 1 = 1{csm_sql}
            ) l
            GROUP BY customer_id, csm_id
        ) pc
        GROUP BY csm_id
    """  # noqa: S608 - table names and placeholders are ours; values are parameters
    return sql, [*sums_params, e, s, *csm_params]


def _scan_sql(csm_ids: Sequence[int] | None, start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """The engine's own sums (metrics.revenue.sums_sql: one read of the rows in force in the period),
    grouped by each row's copy of its customer's CSM (`book_csm`, kept by the database): no row joins its
    customer. `csm_ids` None: every book."""
    return revenue.sums_sql(
        start=start,
        end=end,
        where=lambda alias: ("", []) if csm_ids is None else in_list(f"{alias}.book_csm_id", csm_ids),
        group=lambda alias: f"{alias}.book_csm_id",
    )


def revenue_by_csm(
    *, csm_ids: Sequence[int] | None, start: dt.date, end: dt.date, strategy: str = "auto"
) -> dict[int, RevenueTotals]:
    """metrics.revenue.revenue_totals for each CSM's book at once (docs/metrics.md): one query, grouped by
    the customer's CSM. Books without ledger rows in force are absent (all zero).

    Two equivalent plans (tests check both against the engine): "walk" follows a few books' customers into
    the ledger through its (customer, date) index — on PostgreSQL the planner would otherwise hash the whole
    ledger even for one 2,000-customer book; "scan" is the engine's own sums (metrics.revenue.sums_sql: one
    read of the rows in force in the period) grouped by CSM, for many books. "auto" walks up to FEW_CSMS books
    on PostgreSQL. `csm_ids` None: every CSM's book (the scan; customers without a CSM are left out)."""
    if csm_ids is None:
        strategy = "scan"
    elif strategy == "auto":
        strategy = "walk" if connection.vendor == "postgresql" and len(csm_ids) <= FEW_CSMS else "scan"
    sql, params = (_walk_sql if strategy == "walk" else _scan_sql)(csm_ids, start, end)
    # JIT off, as revenue_totals: compiling costs more than it saves.
    with analytic_transaction(), reader().cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        row[0]: revenue.totals_from_sums(row[1:], start=start, end=end, label=f"CSM {row[0]} ")
        for row in rows
        if row[0] is not None
    }


def add_totals(parts: Sequence[RevenueTotals], *, start: dt.date, end: dt.date) -> RevenueTotals:
    """The totals of the union of disjoint books: every sum adds (ratios are taken afterwards)."""

    def total(name: str) -> Any:
        return sum((getattr(p, name) for p in parts), Decimal("0.00") if name not in _COUNTS else 0)

    return RevenueTotals(start=start, end=end, **{f.name: total(f.name) for f in fields(RevenueTotals)[2:]})


_COUNTS = {"customers_start", "customers_end", "retained"}


# --- Renewals, grouped by CSM ---------------------------------------------------------------------


def renewals_by_csm(*, csm_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Any]]:
    """The sums behind metrics.renewals.renewal_metrics (docs/metrics.md "Renewals") for each CSM's book, one
    query: renewed_arr counts as arr_due when a renewal renewed without an amount, 0 when it churned."""
    decided = Q(outcome__in=[Outcome.RENEWED, Outcome.CHURNED])
    renewed_arr = Case(
        When(outcome=Outcome.RENEWED, then=Coalesce(F("renewed_arr"), F("arr_due"))),
        default=ZERO_MONEY,
        output_field=MONEY_FIELD,
    )
    rows = (
        Renewal.objects.filter(due_date__gte=start, due_date__lte=end, book_csm_id__in=list(csm_ids))
        .values("book_csm_id")
        .annotate(
            due=Count("pk"),
            renewed=Count("pk", filter=Q(outcome=Outcome.RENEWED)),
            churned=Count("pk", filter=Q(outcome=Outcome.CHURNED)),
            decided_due=Sum("arr_due", filter=decided),
            gross=Sum(Least(renewed_arr, F("arr_due"), output_field=MONEY_FIELD), filter=decided),
            net=Sum(renewed_arr, filter=decided),
        )
        .order_by()
    )
    return {
        r["book_csm_id"]: {
            "renewals_due": r["due"],
            "renewed": r["renewed"],
            "churned": r["churned"],
            "renewal_arr_decided": quantize_money(r["decided_due"]),
            "renewal_arr_gross": quantize_money(r["gross"]),
            "renewal_arr_net": quantize_money(r["net"]),
        }
        for r in rows
    }
