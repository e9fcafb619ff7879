"""metrics.revenue.ledger: the "row in force" fragments and the per-customer period sums, on the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from core.sql import cents_sql, dollars
from metrics.models import MrrEntry
from metrics.revenue.ledger import (
    customer_period_sums,
    in_force_before,
    in_force_during,
    in_force_on,
    not_replaced_by,
)
from metrics.scope import adapt_date, q

from .conftest import ledger

pytestmark = pytest.mark.django_db

D = dt.date.fromisoformat


@pytest.fixture
def rows(customer):
    # 100 from Jan 1, 150 from Mar 10, 0 (churn) from Mar 20.
    ledger([(customer, "2024-01-01", 100), (customer, "2024-03-10", 150), (customer, "2024-03-20", 0)])
    return customer


def _mrr_where(condition: str, params: list) -> list[Decimal]:
    table = q(MrrEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.mrr FROM {table} l WHERE {condition} ORDER BY l.effective_date",  # noqa: S608
            [adapt_date(p) for p in params],
        )
        return [Decimal(str(r[0])).quantize(Decimal("0.01")) for r in cursor.fetchall()]


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2023-12-31", []), ("2024-01-01", ["100.00"]), ("2024-03-09", ["100.00"]), ("2024-03-10", ["150.00"])],
)
def test_in_force_on_is_the_latest_row_on_or_before_the_day(rows, day, expected):
    assert _mrr_where(in_force_on("l"), [D(day), D(day)]) == [Decimal(e) for e in expected]


def test_in_force_before_is_the_row_in_force_the_day_before(rows):
    assert _mrr_where(in_force_before("l"), [D("2024-03-10"), D("2024-03-10")]) == [Decimal("100.00")]
    assert _mrr_where(in_force_before("l"), [D("2024-03-11"), D("2024-03-11")]) == [Decimal("150.00")]
    assert _mrr_where(in_force_before("l"), [D("2024-01-01"), D("2024-01-01")]) == []


def test_in_force_during_reads_every_row_in_force_from_the_day_before_start_to_end(rows):
    # [Mar 10, Mar 31] reads the opening row (in force on Mar 9) and both rows dated in the period.
    march = _mrr_where(in_force_during("l"), [D("2024-03-31"), D("2024-03-10")])
    assert march == [Decimal("100.00"), Decimal("150.00"), Decimal("0.00")]
    february = _mrr_where(in_force_during("l"), [D("2024-02-29"), D("2024-02-01")])
    assert february == [Decimal("100.00")]


def test_not_replaced_by_keeps_rows_without_a_later_row_by_the_day(rows):
    assert _mrr_where(not_replaced_by("l"), [D("2024-03-15")]) == [Decimal("150.00"), Decimal("0.00")]
    assert not_replaced_by() == "(next_date IS NULL OR next_date > %s)"
    assert in_force_on("x") == "x.effective_date <= %s AND (x.next_date IS NULL OR x.next_date > %s)"


def test_customer_period_sums_classify_one_customer(rows, customer):
    table = q(MrrEntry._meta.db_table)
    s, e = adapt_date(D("2024-03-01")), adapt_date(D("2024-03-31"))
    sums, params = customer_period_sums(s, e)
    sql = f"""
        SELECT {sums} FROM (
            SELECT effective_date, next_date, {cents_sql("mrr")} AS cents, {cents_sql("prev_mrr")} AS prev,
                   positive_before
            FROM {table} WHERE customer_id = %s AND {in_force_during()}
        ) l
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, customer.pk, e, s])
        names = [c[0] for c in cursor.description]
        row = dict(zip(names, (dollars(v) for v in cursor.fetchone()), strict=True))
    assert row == {
        "opening": Decimal("100.00"),
        "closing": Decimal("0.00"),
        "new_mrr": Decimal("0.00"),
        "reactivation_mrr": Decimal("0.00"),
        "expansion_mrr": Decimal("50.00"),
        "contraction_mrr": Decimal("0.00"),
        "churned_mrr": Decimal("150.00"),
    }
