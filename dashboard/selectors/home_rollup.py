"""The home page's rollup (docs/architecture.md#dashboard-rollups): the sums behind its bands, renewal
windows, at-risk ARR 30 days earlier and trailing-year retention, per day and book (a CSM's customers;
book 0: those without a CSM), so that a page adds up a few hundred stored rows instead of reading every
customer's ledger.

- book_sums: the sums of some books (or all) from the facts, grouped by book — what dashboard.services
  stores, and what a page computes for the books whose facts changed since (HomeRollupMark);
- portfolio_sums: a portfolio's sums on a day: the stored rows of its unchanged books plus book_sums of its
  changed ones; None while the rollup has not been built for that day (the page then reads the facts).

Both sides are the same SQL as the fact path of home_page (the ledger row in force, the engine's cohort sums),
grouped by book; tests prove the figures equal on random ledgers, bands, renewals and snapshots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from accounts.models import Customer, LifecycleStage
from core.db import reader
from core.sql import cents_sql, in_list, placeholders, to_cents
from metrics import revenue
from metrics.models import HealthSnapshot, MrrEntry
from metrics.revenue.ledger import in_force_on
from metrics.scope import adapt_date, q

from ..models import HomeRollup, HomeRollupBook, HomeRollupMark
from .portfolio import Portfolio

RENEWAL_WINDOWS = (90, 180)  # days; HomeRollup has a pair of columns for each
AT_RISK = ("red", "yellow")
BEFORE_DAYS = 30  # at-risk ARR now against the snapshots of this many days earlier
BOOK = "COALESCE({}, 0)"  # a customer's book: its CSM id, 0 without one
FEW_BOOKS = 20  # up to this many changed books, a page reads their cohorts customer by customer
BUILT = -1  # the book of the all-zero HomeRollupBook row that says a day's rollup is built

_IN_FORCE = in_force_on("l")  # the ledger row in force on a day (the day, twice)


def mrr_join(*, everything: bool, customer: str = "cu.id") -> str:
    """Join each customer to its ledger row in force on a day (two parameters: the day, twice). For the whole
    company a hash join over the ledger; for some books, PostgreSQL walks the customers and looks each row up
    through the (customer, date) index (the planner would hash the whole ledger even for 2,000 customers)."""
    ledger = q(MrrEntry._meta.db_table)
    if everything or connection.vendor != "postgresql":
        return f"LEFT JOIN {ledger} l ON l.customer_id = {customer} AND {_IN_FORCE}"
    # OFFSET 0 keeps the planner from flattening the lookup back into a hash join over the whole ledger.
    lookup = f"SELECT l.mrr FROM {ledger} l WHERE l.customer_id = {customer} AND {_IN_FORCE} OFFSET 0"  # noqa: S608
    return f"LEFT JOIN LATERAL ({lookup}) l ON TRUE"


def renewal_window_columns(day: dt.date) -> tuple[list[str], list]:
    """Per window of RENEWAL_WINDOWS, the select columns "customers renewing in [day, day + window], their MRR
    cents" over customers `cu` joined to their ledger row `l` (mrr_join), and their parameters."""
    windows, params = [], []
    for days in RENEWAL_WINDOWS:
        renewing = "cu.renewal_date >= %s AND cu.renewal_date <= %s"
        windows.append(
            f"COUNT(*) FILTER (WHERE {renewing}), SUM({cents_sql('l.mrr')}) FILTER (WHERE {renewing})"
        )
        params += [adapt_date(day), adapt_date(day + dt.timedelta(days=days))] * 2
    return windows, params


def trailing_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """The trailing 12 months ending today: [today - 1 year + 1 day, today]."""
    try:
        start = today.replace(year=today.year - 1) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28) + dt.timedelta(days=1)
    return start, today


# --- The sums of some books, from the facts -------------------------------------------------------

WINDOW_COLUMNS = [(f"renewing_{days}", f"renewing_{days}_cents") for days in RENEWAL_WINDOWS]
BAND_COLUMNS = [
    "customers",
    "mrr_cents",
    *[c for pair in WINDOW_COLUMNS for c in pair],
    "before",
    "before_cents",
]
COHORT_COLUMNS = [
    "opening_cents",
    "customers_start",
    "retained",
    "cohort_closing_cents",
    "cohort_floor_cents",
]


@dataclass
class Sums:
    """Sums of one or more books: per band, BAND_COLUMNS; and the cohort's COHORT_COLUMNS (cents, counts)."""

    bands: dict[str, dict[str, int]] = field(default_factory=dict)
    cohort: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COHORT_COLUMNS, 0))

    def band(self, band: str) -> dict[str, int]:
        return self.bands.setdefault(band or "", dict.fromkeys(BAND_COLUMNS, 0))

    def add(self, other: Sums) -> None:
        for band, values in other.bands.items():
            mine = self.band(band)
            for name, value in values.items():
                mine[name] += value
        for name, value in other.cohort.items():
            self.cohort[name] += value


def _where_books(column: str, books: Sequence[int] | None) -> tuple[str, list]:
    """` AND` the row's book is one of `books` (nothing for all), in a form the CSM index serves."""
    if books is None:
        return "", []
    csms = [b for b in books if b != 0]
    if 0 not in books:
        return in_list(column, csms)
    if not csms:
        return f" AND {column} IS NULL", []
    return f" AND ({column} IS NULL OR {column} IN ({placeholders(len(csms))}))", csms


def _current(day: dt.date, books: Sequence[int] | None) -> list[tuple]:
    """Per book and current band: customers not churned, their MRR on `day`, and per renewal window those
    renewing in [day, day + window] and their MRR (home_page's portfolio pass, grouped by book)."""
    customers = q(Customer._meta.db_table)
    where, where_params = _where_books("cu.csm_id", books)
    d = adapt_date(day)
    windows, params = renewal_window_columns(day)
    sql = f"""
        SELECT {BOOK.format("cu.csm_id")}, cu.health_band, COUNT(*), SUM({cents_sql("l.mrr")}),
               {", ".join(windows)}
        FROM {customers} cu {mrr_join(everything=books is None)}
        WHERE cu.lifecycle_stage <> %s{where}
        GROUP BY {BOOK.format("cu.csm_id")}, cu.health_band
    """  # noqa: S608
    with reader().cursor() as cursor:
        cursor.execute(sql, [*params, d, d, LifecycleStage.CHURNED.value, *where_params])
        return cursor.fetchall()


def _before(day: dt.date, books: Sequence[int] | None) -> list[tuple]:
    """Per book and band of the snapshots of day - 30: how many, and the MRR on that day of their customers
    (home_page's at-risk pass, grouped by book)."""
    snapshots, customers = q(HealthSnapshot._meta.db_table), q(Customer._meta.db_table)
    where, where_params = _where_books("cu.csm_id", books)
    b = adapt_date(day - dt.timedelta(days=BEFORE_DAYS))
    if books is not None and connection.vendor == "postgresql":
        # Some books: each customer's snapshot of that day through the (customer, date) unique index.
        fence = f"SELECT s.band FROM {snapshots} s WHERE s.customer_id = cu.id AND s.date = %s OFFSET 0"  # noqa: S608
        source = f"{customers} cu CROSS JOIN LATERAL ({fence}) s {mrr_join(everything=False)} WHERE 1 = 1"
    else:
        ledger = mrr_join(everything=True, customer="s.customer_id")
        source = f"{snapshots} s JOIN {customers} cu ON cu.id = s.customer_id {ledger} WHERE s.date = %s"
    sql = f"""
        SELECT {BOOK.format("cu.csm_id")}, s.band, COUNT(*), SUM({cents_sql("l.mrr")})
        FROM {source}{where}
        GROUP BY {BOOK.format("cu.csm_id")}, s.band
    """  # noqa: S608
    with reader().cursor() as cursor:
        cursor.execute(sql, [b, b, b, *where_params])
        return cursor.fetchall()


def _cohorts(day: dt.date, books: Sequence[int] | None) -> dict[int, revenue.RevenueTotals | revenue.Cohort]:
    """Per book: the trailing year's cohort sums. For all books (or many), the engine's revenue sums
    (metrics.revenue.sums_sql: one read of the ledger rows in force, grouped by each row's copy of its
    customer's CSM), whose cohort part the page reads; for a few books on PostgreSQL, the engine's
    cohorts_of_customers (two index lookups per customer of those books) — the same sums (tests)."""
    start, end = trailing_year(day)
    if books is not None and len(books) <= FEW_BOOKS and connection.vendor == "postgresql":
        found = revenue.cohorts_of_customers(
            where=_where_books("cu.csm_id", books),
            group=BOOK.format("cu.csm_id"),
            start=start,
            end=end,
        )
        return {int(book): cohort for book, cohort in found.items()}
    sql, params = revenue.sums_sql(
        start=start,
        end=end,
        where=lambda alias: _where_books(f"{alias}.book_csm_id", books),
        group=lambda alias: BOOK.format(f"{alias}.book_csm_id"),
    )
    with reader().cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        int(r[0]): revenue.totals_from_sums(r[1:], start=start, end=end, label=f"book {r[0]} ") for r in rows
    }


def _cents(dollars: Decimal) -> int:
    return int(dollars * 100)  # two places: exact


def book_sums(*, day: dt.date, books: Sequence[int] | None = None) -> dict[int, Sums]:
    """The sums of `books` (all when None) on `day`, per book, from the facts: three queries."""
    out: dict[int, Sums] = {}
    for book, band, n, cents, *windows in _current(day, books):
        values = out.setdefault(int(book), Sums()).band(band)
        values["customers"], values["mrr_cents"] = int(n), to_cents(cents)
        for i, (count_name, cents_name) in enumerate(WINDOW_COLUMNS):
            values[count_name], values[cents_name] = int(windows[2 * i] or 0), to_cents(windows[2 * i + 1])
    for book, band, n, cents in _before(day, books):
        values = out.setdefault(int(book), Sums()).band(band)
        values["before"], values["before_cents"] = int(n), to_cents(cents)
    for book, totals in _cohorts(day, books).items():
        out.setdefault(book, Sums()).cohort = {
            "opening_cents": _cents(totals.opening),
            "customers_start": totals.customers_start,
            "retained": totals.retained,
            "cohort_closing_cents": _cents(totals.cohort_closing),
            "cohort_floor_cents": _cents(totals.cohort_floor),
        }
    return out


# --- A portfolio's sums: stored rows, and the facts of its changed books -------------------------


def changed_books(books: Sequence[int] | None) -> list[int]:
    """The books (of `books`; all when None) whose facts changed since their rows were built."""
    marks = HomeRollupMark.objects.all()
    if books is not None:
        marks = marks.filter(csm_key__in=list(books))
    return sorted(marks.values_list("csm_key", flat=True).distinct().order_by())


def portfolio_sums(*, portfolio: Portfolio, day: dt.date) -> Sums | None:
    """The portfolio's sums on `day`: the stored rows of its books whose facts have not changed since they
    were built, plus book_sums of the others. None when no rollup was built for `day` (before the first
    refresh of a day, or a day other than today): the caller reads the facts. Four queries, plus three when
    some of the portfolio's books changed."""
    books = None if portfolio.csm_ids is None else list(portfolio.csm_ids)
    changed = changed_books(books)
    if not HomeRollupBook.objects.filter(day=day, csm_key=BUILT).exists():
        return None
    stored_bands = HomeRollup.objects.filter(day=day).exclude(csm_key__in=changed)
    stored_books = HomeRollupBook.objects.filter(day=day).exclude(csm_key__in=changed)
    if books is not None:
        stored_bands = stored_bands.filter(csm_key__in=books)
        stored_books = stored_books.filter(csm_key__in=books)
    out = Sums()
    for row in stored_bands.values("band").annotate(**{c: Sum(c) for c in BAND_COLUMNS}).order_by():
        values = out.band(row.pop("band"))
        for name, value in row.items():
            values[name] += int(value or 0)
    totals = stored_books.aggregate(**{c: Sum(c) for c in COHORT_COLUMNS})
    out.cohort = {name: int(value or 0) for name, value in totals.items()}
    if changed:
        for sums in book_sums(day=day, books=changed).values():
            out.add(sums)
    return out
