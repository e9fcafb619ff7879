"""core.sql: each raw-SQL helper, run on the database of the pass (SQLite, then PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext

from core.sql import (
    LOOKUP_CHUNK,
    MONEY_FIELD,
    ZERO_MONEY,
    analytic_transaction,
    cents_sql,
    chunked,
    date_plus_days,
    day_bounds,
    day_start,
    days_between,
    dollars,
    in_list,
    placeholders,
    to_cents,
)
from metrics.models import Renewal
from metrics.scope import adapt_date, q
from tests.factories import CustomerFactory, RenewalFactory


def _one(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()


# --- Money in exact cents -------------------------------------------------------------------------


@pytest.mark.django_db
def test_money_sums_are_exact_to_the_cent(customer):
    # 0.1 + 0.2 is not 0.3 in floating point: SQLite's REAL would drift, cents do not.
    for i, amount in enumerate(["0.10", "0.20", "1234567.89", "0.01"]):
        RenewalFactory(customer=customer, due_date=dt.date(2024, 1, 1 + i), arr_due=Decimal(amount))
    table = q(Renewal._meta.db_table)
    (total,) = _one(f"SELECT SUM({cents_sql('arr_due')}) FROM {table}")  # noqa: S608
    assert to_cents(total) == 123456820
    assert dollars(total) == Decimal("1234568.20")
    (empty,) = _one(f"SELECT SUM({cents_sql('arr_due')}) FROM {table} WHERE 1 = 0")  # noqa: S608
    assert to_cents(empty) == 0
    assert dollars(empty) == Decimal("0.00")


def test_cents_sql_is_the_column_on_postgresql_and_whole_cents_elsewhere():
    expected = "mrr" if connection.vendor == "postgresql" else "CAST(ROUND(mrr * 100) AS BIGINT)"
    assert cents_sql("mrr") == expected


def test_to_cents_and_dollars_read_what_each_database_answers():
    assert to_cents(None) == 0
    assert to_cents(1234) == 1234  # cents already
    # PostgreSQL sums numeric dollars; SQLite's CAST answers integer cents.
    assert to_cents(Decimal("12.34")) == (1234 if connection.vendor == "postgresql" else 12)
    assert dollars(1234) == Decimal("12.34")
    assert str(dollars(-5)) == "-0.05"
    assert str(dollars(0)) == "0.00"


@pytest.mark.django_db
def test_money_field_and_zero_type_orm_money_expressions(customer):
    RenewalFactory(customer=customer, due_date=dt.date(2024, 1, 1), arr_due=Decimal("10.25"))
    row = Renewal.objects.aggregate(
        total=Coalesce(Sum("arr_due"), ZERO_MONEY, output_field=MONEY_FIELD),
        nothing=Coalesce(Sum("arr_due", filter=Q(pk__lt=0)), ZERO_MONEY, output_field=MONEY_FIELD),
    )
    assert Decimal(str(row["total"])) == Decimal("10.25")
    assert Decimal(str(row["nothing"])) == 0
    assert (MONEY_FIELD.max_digits, MONEY_FIELD.decimal_places) == (16, 2)


# --- Date arithmetic per vendor -------------------------------------------------------------------


@pytest.mark.django_db
def test_days_between_counts_whole_days():
    later, earlier = adapt_date(dt.date(2024, 3, 1)), adapt_date(dt.date(2024, 2, 1))
    cast = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"
    (days,) = _one(f"SELECT {days_between(cast, cast)}", [later, earlier])
    assert days == 29  # 2024 is a leap year
    assert isinstance(days, int)
    (back,) = _one(f"SELECT {days_between(cast, cast)}", [earlier, later])
    assert back == -29
    (missing,) = _one(f"SELECT {days_between(cast, cast)}", [None, earlier])
    assert missing is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days", "expected"), [(30, dt.date(2024, 3, 2)), (-29, dt.date(2024, 1, 3)), (0, None)]
)
def test_date_plus_days_moves_a_date(days, expected):
    start = dt.date(2024, 2, 1)
    cast = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"
    (value,) = _one(f"SELECT {date_plus_days(cast, days)}", [adapt_date(start)])
    value = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    assert value == (expected or start)


# --- IN lists -------------------------------------------------------------------------------------


def test_placeholders():
    assert placeholders(3) == "%s, %s, %s"
    assert placeholders(1) == "%s"
    assert placeholders(0) == ""


def test_in_list_is_a_where_suffix_and_admits_nothing_for_no_ids():
    assert in_list("cu.csm_id", [3, 1]) == (" AND cu.csm_id IN (%s, %s)", [3, 1])
    assert in_list("cu.csm_id", (7,)) == (" AND cu.csm_id IN (%s)", [7])
    assert in_list("cu.csm_id", []) == (" AND 1 = 0", [])


@pytest.mark.django_db
def test_in_list_selects_the_listed_rows(csm):
    a, b, _c = (CustomerFactory(csm=csm) for _ in range(3))
    table = q(a._meta.db_table)

    def ids(values: list[int]) -> set[int]:
        sql, params = in_list("id", values)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE 1 = 1{sql}", params)  # noqa: S608
            return {row[0] for row in cursor.fetchall()}

    assert ids([a.pk, b.pk]) == {a.pk, b.pk}
    assert ids([]) == set()


def test_chunked_slices_in_order():
    assert list(chunked([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunked((1, 2), 2)) == [(1, 2)]
    assert list(chunked([], 3)) == []
    assert [len(c) for c in chunked(list(range(LOOKUP_CHUNK + 1)))] == [LOOKUP_CHUNK, 1]


# --- The transaction report queries run in --------------------------------------------------------


def _setting(name: str) -> str:
    return _one(f"SHOW {name}")[0]


@pytest.mark.django_db
def test_analytic_transaction_turns_jit_off_for_its_transaction_only():
    with CaptureQueriesContext(connection) as ctx, analytic_transaction():
        if connection.vendor == "postgresql":
            assert _setting("jit") == "off"
    statements = [q["sql"] for q in ctx.captured_queries]
    if connection.vendor == "postgresql":
        assert statements[0] == "SET LOCAL jit = off"
        assert not any("max_parallel" in sql for sql in statements)
    else:
        assert statements == []  # SQLite: only the transaction
    assert not any("SAVEPOINT" in sql for sql in statements)  # inside the test's transaction: no savepoint


@pytest.mark.django_db
def test_analytic_transaction_can_cap_parallel_workers(settings):
    settings.CSHUB_PAGE_PARALLEL_WORKERS = 3
    with CaptureQueriesContext(connection) as ctx, analytic_transaction(cap_parallel_workers=True):
        if connection.vendor == "postgresql":
            assert _setting("max_parallel_workers_per_gather") == "3"
    expected = (
        ["SET LOCAL jit = off", "SET LOCAL max_parallel_workers_per_gather = 3"]
        if connection.vendor == "postgresql"
        else []
    )
    assert [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SET")] == expected
    settings.CSHUB_PAGE_PARALLEL_WORKERS = -1  # keep the server's own setting
    with CaptureQueriesContext(connection) as ctx, analytic_transaction(cap_parallel_workers=True):
        pass
    assert not any("max_parallel" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_analytic_transaction_is_one_transaction_and_rolls_back_on_error(customer):
    jit_before = _setting("jit") if connection.vendor == "postgresql" else None

    def write_then_fail() -> None:
        with analytic_transaction():
            assert connection.in_atomic_block
            RenewalFactory(customer=customer, due_date=dt.date(2024, 1, 1))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert not Renewal.objects.exists()
    if connection.vendor == "postgresql":
        assert _setting("jit") == jit_before  # SET LOCAL ended with the transaction


# --- Days in TIME_ZONE ----------------------------------------------------------------------------


def test_day_start_is_midnight_in_time_zone(settings):
    start = day_start(dt.date(2024, 3, 10))
    assert start.tzinfo is not None
    assert start.astimezone(ZoneInfo(settings.TIME_ZONE)).replace(tzinfo=None) == dt.datetime(2024, 3, 10)


def test_day_bounds_cover_whole_days():
    lo, hi = day_bounds(dt.date(2024, 2, 28), dt.date(2024, 3, 1))
    assert (lo, hi) == (day_start(dt.date(2024, 2, 28)), day_start(dt.date(2024, 3, 2)))
    assert day_bounds(dt.date(2024, 2, 29)) == (
        day_start(dt.date(2024, 2, 29)),
        day_start(dt.date(2024, 3, 1)),
    )
