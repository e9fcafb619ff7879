"""The customers behind a revenue number (the Revenue page's lists), and one customer's MRR."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery

from accounts.models import Customer, User
from core.db import reader
from core.sql import cents_sql, dollars

from ..models import MrrEntry
from ..scope import Scope, adapt_date, q
from .ledger import customer_period_sums, in_force_during


def per_customer_sql(scope: Scope, start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """SQL of one row per customer with a ledger row in force at some day of [start - 1, end]: opening,
    closing (MRR on start - 1 and on end) and each movement of MOVEMENT_SQL, in cents."""
    table = q(MrrEntry._meta.db_table)
    scope_sql, scope_params = scope.sql("customer_id")
    s, e = adapt_date(start), adapt_date(end)
    sums, sums_params = customer_period_sums(s, e)
    sql = f"""
        SELECT customer_id,
               {sums}
        FROM (
            SELECT customer_id, effective_date, next_date,
                   {cents_sql("mrr")} AS cents, {cents_sql("prev_mrr")} AS prev, positive_before
            FROM {table} WHERE {in_force_during()}{scope_sql}
        ) l
        GROUP BY customer_id
    """  # noqa: S608 - table and scope SQL are built by us; values are parameters
    return sql, [*sums_params, e, s, *scope_params]


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
    with reader().cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        rows = cursor.fetchall()
    return [
        CustomerMovement(
            customer_id=r[0],
            external_id=r[1],
            name=r[2],
            segment=r[3],
            csm_name=r[4],
            opening=dollars(r[5]),
            closing=dollars(r[6]),
            amount=dollars(r[7]),
            new=dollars(r[8]),
            reactivation=dollars(r[9]),
            expansion=dollars(r[10]),
            contraction=dollars(r[11]),
            churn=dollars(r[12]),
        )
        for r in rows
    ]


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
