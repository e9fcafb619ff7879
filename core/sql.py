"""Raw-SQL helpers shared by the apps' hand-written queries, written once for both databases.

The metric engine and the dashboards write SQL by hand where the ORM cannot say it in one statement (window
sums, LATERAL lookups, FILTER aggregates). What those queries have in common lives here: money summed exactly
to the cent, date arithmetic per vendor, `IN (…)` lists, the transaction the report queries run in, the
bounds of a day in TIME_ZONE and the chunks that keep parameter lists under every database's limit.

Nothing here names an app's table: core imports no app (the layering: core ← accounts ← … ← dashboard).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import DecimalField, Value
from django.utils import timezone

from .db import read_alias

# --- Money in exact cents -------------------------------------------------------------------------

# Money as the models store it (DecimalField(max_digits=16, decimal_places=2)): the output type of ORM
# expressions mixing money columns and constants, and a typed zero for Coalesce/Case defaults.
MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)
ZERO_MONEY = Value(Decimal("0"), output_field=MONEY_FIELD)


def cents_sql(column: str) -> str:
    """SQL: a money column (or expression) as an exact number to sum. PostgreSQL's numeric is exact already
    (its sums come back as Decimal dollars); SQLite stores decimals as REAL, so there it sums whole cents
    instead. Read the sums back with to_cents / dollars, which know which of the two they got."""
    if connection.vendor == "postgresql":
        return column
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def to_cents(value: Any) -> int:
    """A money value read back from a cents_sql sum — Decimal dollars on PostgreSQL, integer cents on SQLite,
    None for an empty sum — as integer cents. An int is taken to be cents already."""
    if isinstance(value, Decimal):
        return int(value * 100) if connection.vendor == "postgresql" else int(value)
    return int(value or 0)


def dollars(value: Any) -> Decimal:
    """Integer cents, or a money value read back from a cents_sql sum (see to_cents), as Decimal dollars with
    two places."""
    return (Decimal(to_cents(value)) / 100).quantize(Decimal("0.01"))


# --- Date arithmetic per vendor -------------------------------------------------------------------


def days_between(later: str, earlier: str) -> str:
    """SQL: whole days from the date expression `earlier` to `later` (an integer; null if either is null).
    PostgreSQL subtracts dates; SQLite stores them as ISO text, so it subtracts their Julian day numbers."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def date_plus_days(expr: str, days: int) -> str:
    """SQL: the date expression `expr` plus `days` days (a fixed number, written into the SQL), as a date."""
    if connection.vendor == "postgresql":
        return f"({expr} + {int(days)})"
    return f"date({expr}, '{int(days):+d} days')"


# --- IN lists -------------------------------------------------------------------------------------


def placeholders(count: int) -> str:
    """`%s, %s, …`: `count` parameter placeholders for an `IN (…)` list or a VALUES row."""
    return ", ".join(["%s"] * count)


def in_list(column: str, ids: Sequence[Any]) -> tuple[str, list[Any]]:
    """A WHERE suffix and its parameters: ` AND <column> IN (%s, …)` over `ids`. No ids admit no row
    (` AND 1 = 0`: SQL has no empty IN list). The suffix form is the one every `sql()` scope of the apps
    returns, to follow `WHERE 1 = 1` or another condition."""
    if not ids:
        return " AND 1 = 0", []
    return f" AND {column} IN ({placeholders(len(ids))})", list(ids)


LOOKUP_CHUNK = 2000  # keeps `IN (…)` lists and multi-row statements under every database's parameter limit


def chunked(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in consecutive slices of at most `size` (none for no items), in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- The transaction report queries run in --------------------------------------------------------


@contextmanager
def analytic_transaction(*, cap_parallel_workers: bool = False) -> Iterator[None]:
    """One transaction (one snapshot; no savepoint inside a caller's transaction) for report queries, with
    PostgreSQL's JIT off for the rest of it: their cost estimates (hundreds of thousands of ledger or usage
    rows) switch JIT on, and compiling the expressions takes longer than running them (up to 0.14 s for the
    team page's time to value over a year of 100,000 customers).

    `cap_parallel_workers`: a whole page's queries (many at once on a busy server) also cap the parallel
    workers per query at settings.CSHUB_PAGE_PARALLEL_WORKERS (a negative value leaves PostgreSQL's).
    On SQLite: only the transaction.

    The transaction is on the connection reads use now (core.db.reader: the replica inside a dashboard's
    reads_from_replica scope), so the queries inside it, raw or ORM, share its snapshot."""
    alias = read_alias()
    with transaction.atomic(using=alias, savepoint=False):
        if connection.vendor == "postgresql":
            with connections[alias].cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                if cap_parallel_workers:
                    workers = int(settings.CSHUB_PAGE_PARALLEL_WORKERS)
                    if workers >= 0:
                        cursor.execute(f"SET LOCAL max_parallel_workers_per_gather = {workers}")
        yield


# --- Days in TIME_ZONE ----------------------------------------------------------------------------


def set_local_lock_timeout(seconds: float) -> None:
    """PostgreSQL: wait at most `seconds` for any lock until the current transaction ends (then SQLSTATE
    55P03, which the API answers as a 503 with Retry-After). SQLite: nothing (its own busy timeout)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")


@contextmanager
def advisory_lock(name: str, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the PostgreSQL session advisory lock `name` for the block; if another session holds it, call
    `on_wait` (to say so) and wait for it. Serialises whole jobs that span many transactions (two recomputes
    of one day, docs/operations.md#failure-rules). SQLite: nothing to do, it has one writer at a time."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [name])
        if not cursor.fetchone()[0]:
            if on_wait is not None:
                on_wait()
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [name])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


def day_start(day: dt.date) -> dt.datetime:
    """Midnight starting `day` in TIME_ZONE, aware: the lower bound of a datetime filter by day."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def day_bounds(start: dt.date, end: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end + 1 00:00) in TIME_ZONE, as aware datetimes: the days start..end (just `start`
    when no end is given) for a `>= lo AND < hi` filter."""
    return day_start(start), day_start((start if end is None else end) + dt.timedelta(days=1))
