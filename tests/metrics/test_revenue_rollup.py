"""The revenue rollup (docs/metrics.md#revenue-rollup): on random companies (CSMs, segments, ledgers over two
years), the figures of every calendar month, quarter and year (and one to date) read from the rollup equal the
engine's from the ledger, to the cent, for the whole company, a segment, one CSM and a set of CSMs; before and
after random writes (ledger rows added, changed and deleted, reassignments, segment changes), with the marked
customers read from the ledger and again after a refresh; the triggers mark exactly the customers a write
changes; the API and the Revenue page's queries stay constant."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer, Role
from cshub.celery import app
from metrics.models import MrrEntry, RevenueRollupCell, RevenueRollupMark, RevenueRollupState
from metrics.revenue import ledger_totals, revenue_rollup_refresh, revenue_totals, rollup_totals
from metrics.revenue.rollup import MAX_MARKED, add_months, calendar_period
from metrics.scope import Scope
from metrics.services import mrr_ledger_relink
from metrics.tasks import revenue_rollup_refresh_task
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = dt.date(2024, 1, 1)
SEGMENTS = ["SMB", "Enterprise", ""]


def _money(rng: random.Random) -> Decimal:
    return Decimal("0") if rng.random() < 0.2 else Decimal(rng.randint(1, 500_000)) / 100


def _random_company(rng: random.Random, csms: list, n: int) -> list[Customer]:
    customers = Customer.objects.bulk_create(
        Customer(
            external_id=f"RR-{i}",
            name=f"RR {i}",
            csm=rng.choice([*csms, None]),
            segment=rng.choice(SEGMENTS),
        )
        for i in range(n)
    )
    rows = [
        MrrEntry(customer=c, effective_date=BASE + dt.timedelta(days=day), mrr=_money(rng))
        for c in customers
        for day in rng.sample(range(-60, 730), rng.randint(0, 7))
    ]
    MrrEntry.objects.bulk_create(rows)
    mrr_ledger_relink()
    return customers


def _periods(rng: random.Random) -> list[tuple[dt.date, dt.date]]:
    """A few calendar months, quarters and years of 2023-2026, and one of them to a random day."""
    out = []
    for kind in (1, 3, 12):
        for _ in range(3):
            start = add_months(dt.date(2023, 1, 1), rng.randrange(0, 40) // kind * kind)
            out.append((start, add_months(start, kind) - dt.timedelta(days=1)))
    start = add_months(dt.date(2024, 1, 1), rng.randrange(0, 24))
    out.append((start, start + dt.timedelta(days=rng.randrange(0, 27))))
    return out


def _scopes(csms: list) -> list[Scope]:
    return [
        Scope(),
        Scope(segment="SMB"),
        Scope(csm=csms[0]),
        Scope(csm_ids=tuple(c.pk for c in csms[1:])),
        Scope(csm_ids=(csms[0].pk,), segment="Enterprise"),
    ]


def _check(csms: list, periods: list[tuple[dt.date, dt.date]]) -> None:
    for scope in _scopes(csms):
        for start, end in periods:
            expected = ledger_totals(scope=scope, start=start, end=end)
            rolled = rollup_totals(scope=scope, start=start, end=end)
            if rolled is None:  # a period to date with rows after its end: the ledger answers
                assert calendar_period(start, end) is not None
                assert MrrEntry.objects.filter(
                    effective_date__gt=end, effective_date__lt=calendar_period(start, end)[1]
                ).exists()
                continue
            assert rolled == expected, (scope, start, end)


def _random_writes(rng: random.Random, customers: list[Customer], csms: list) -> set[int]:
    """Writes of every kind a writer makes; returns the customers they write to."""
    changed: set[int] = set()
    for c in rng.sample(customers, min(4, len(customers))):
        action = rng.choice(["add", "update", "delete", "csm", "segment"])
        if action == "add":
            day = BASE + dt.timedelta(days=rng.randrange(-60, 730))
            MrrEntry.objects.update_or_create(customer=c, effective_date=day, defaults={"mrr": _money(rng)})
        elif action == "update" and c.mrr_entries.exists():
            c.mrr_entries.filter(pk=c.mrr_entries.order_by("?").first().pk).update(mrr=_money(rng))
        elif action == "delete" and c.mrr_entries.exists():
            c.mrr_entries.filter(pk=c.mrr_entries.order_by("?").first().pk).delete()
        elif action == "csm":
            Customer.objects.filter(pk=c.pk).update(csm=rng.choice([*csms, None]))
        elif action == "segment":
            Customer.objects.filter(pk=c.pk).update(segment=rng.choice(SEGMENTS))
        else:
            continue
        mrr_ledger_relink(customer_ids=[c.pk])
        changed.add(c.pk)
    return changed


@pytest.fixture
def csms():
    return [UserFactory(email=f"rr{i}@example.com", role=Role.CSM) for i in range(3)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10**6), n=st.integers(min_value=1, max_value=25))
def test_rollup_equals_the_engine_before_and_after_random_writes(db, csms, seed, n):
    rng = random.Random(seed)
    RevenueRollupState.objects.all().delete()
    MrrEntry.objects.all().delete()
    Customer.objects.filter(external_id__startswith="RR-").delete()
    customers = _random_company(rng, csms, n)
    periods = _periods(rng)
    assert revenue_rollup_refresh() == -1  # the first build: every customer
    assert not RevenueRollupMark.objects.exists()
    _check(csms, periods)

    changed = _random_writes(rng, customers, csms)
    # A write that leaves every column the rollup reads as it was (the same CSM again) marks nothing.
    marked = set(RevenueRollupMark.objects.values_list("customer_id", flat=True))
    assert marked <= changed
    _check(csms, periods)  # the marked customers from the ledger
    assert revenue_rollup_refresh() == len(marked)
    assert not RevenueRollupMark.objects.exists()
    _check(csms, periods)  # all from the rollup


def test_worked_example_from_the_rollup(csms):
    """docs/metrics.md's ledger cohort, over one calendar quarter."""
    a, b, c, d, e = Customer.objects.bulk_create(Customer(external_id=f"W-{k}", name=k) for k in "ABCDE")
    rows = [(a, 1000, 1300), (b, 500, 400), (c, 300, 0), (d, 200, 250), (e, 0, 600)]
    MrrEntry.objects.bulk_create(
        [MrrEntry(customer=x, effective_date=dt.date(2024, 3, 1), mrr=o) for x, o, _c in rows if o]
        + [MrrEntry(customer=x, effective_date=dt.date(2024, 5, 10), mrr=cl) for x, _o, cl in rows]
    )
    mrr_ledger_relink()
    revenue_rollup_refresh()
    t = rollup_totals(scope=Scope(), start=dt.date(2024, 4, 1), end=dt.date(2024, 6, 30))
    assert t is not None
    assert (t.opening, t.closing, t.new, t.expansion, t.contraction, t.churn) == (
        Decimal("2000.00"),
        Decimal("2550.00"),
        Decimal("600.00"),
        Decimal("350.00"),
        Decimal("100.00"),
        Decimal("300.00"),
    )
    assert t.cohort_closing / t.opening == Decimal("0.975")
    assert t.cohort_floor / t.opening == Decimal("0.8")
    assert (t.customers_start, t.retained) == (4, 3)


def test_the_ledger_answers_when_the_rollup_cannot(csms):
    customer = Customer.objects.create(external_id="L-1", name="L", csm=csms[0])
    MrrEntry.objects.create(customer=customer, effective_date=dt.date(2024, 2, 10), mrr=Decimal("100"))
    mrr_ledger_relink()
    year = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert rollup_totals(scope=Scope(), start=year[0], end=year[1]) is None  # not built yet
    revenue_rollup_refresh()
    assert rollup_totals(scope=Scope(), start=year[0], end=year[1]) is not None
    # Not a calendar period, one customer, a period to a day before a later row of it: the ledger.
    assert rollup_totals(scope=Scope(), start=dt.date(2024, 1, 2), end=year[1]) is None
    assert rollup_totals(scope=Scope(customer=customer), start=year[0], end=year[1]) is None
    assert rollup_totals(scope=Scope(), start=year[0], end=dt.date(2024, 2, 9)) is None
    assert rollup_totals(scope=Scope(), start=year[0], end=dt.date(2024, 2, 10)) is not None
    # More marked customers than MAX_MARKED: the ledger.
    RevenueRollupMark.objects.bulk_create(
        RevenueRollupMark(customer_id=10**9 + i) for i in range(MAX_MARKED + 1)
    )
    assert rollup_totals(scope=Scope(), start=year[0], end=year[1]) is None
    assert revenue_totals(scope=Scope(), start=year[0], end=year[1]).closing == Decimal("100.00")


def test_triggers_mark_what_changes_and_nothing_else(csms):
    customer = Customer.objects.create(external_id="T-1", name="T", csm=csms[0], segment="SMB")
    other = Customer.objects.create(external_id="T-2", name="U")
    entry = MrrEntry.objects.create(
        customer=customer, effective_date=dt.date(2024, 2, 10), mrr=Decimal("100")
    )
    mrr_ledger_relink()
    revenue_rollup_refresh()
    assert not RevenueRollupMark.objects.exists()
    Customer.objects.filter(pk=customer.pk).update(name="renamed", health_band="red")  # not read: no mark
    MrrEntry.objects.filter(pk=entry.pk).update(mrr=Decimal("100"))  # unchanged: no mark
    assert not RevenueRollupMark.objects.exists()
    writes = [
        (lambda: Customer.objects.filter(pk=customer.pk).update(csm=csms[1]), customer),
        (lambda: Customer.objects.filter(pk=customer.pk).update(segment="Enterprise"), customer),
        (lambda: MrrEntry.objects.filter(pk=entry.pk).update(mrr=Decimal("120")), customer),
        (lambda: MrrEntry.objects.create(customer=other, effective_date=dt.date(2024, 3, 1), mrr=5), other),
        (lambda: MrrEntry.objects.filter(customer=other).delete(), other),
    ]
    for write, changed in writes:
        write()
        assert set(RevenueRollupMark.objects.values_list("customer_id", flat=True)) == {changed.pk}
        revenue_rollup_refresh()
        assert not RevenueRollupMark.objects.exists()
    assert RevenueRollupCell.objects.filter(csm_key=csms[1].pk, segment="Enterprise").exists()


def _queries(fn) -> list[str]:
    """The SQL of the queries `fn` makes, from an emptied log (a full one would shift the captured slice)."""
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        fn()
    # Not PostgreSQL's `SET LOCAL jit = off` of each analytic transaction: settings, not queries.
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET LOCAL")]


def test_api_and_page_query_counts(csms):
    rng = random.Random(7)
    _random_company(rng, csms, 30)
    revenue_rollup_refresh()
    admin = UserFactory(email="rr-admin@example.com", role=Role.ADMIN)
    client = client_for(admin)
    url = "/api/v1/metrics/revenue/?start=2024-01-01&end=2024-12-31"
    page = "/revenue/?whose=all&period=custom&start=2024-01-01&end=2024-12-31"

    def get(path: str) -> None:
        assert client.get(path).status_code == 200

    get(url)
    api = _queries(lambda: get(url))
    get(page)
    html = _queries(lambda: get(page))
    assert [sql for sql in api if "revenuerollup" in sql or "metrics_mrrentry" in sql] == [
        sql for sql in api if "revenuerollup" in sql
    ]
    assert len([sql for sql in api if "revenuerollup" in sql]) == 2  # the marks, then one statement
    # The page: the year, then its 12 months with their marks read once; none over the ledger.
    assert sum("revenuerollupmark" in sql for sql in html) == 2
    assert sum("revenuerollupcell" in sql for sql in html) == 13
    assert len(html) == len(api) + 1 + 12 + 2  # + the filter form's segments and CSMs
    assert not any("metrics_mrrentry" in sql and "revenuerollup" not in sql for sql in html)
    # One more ledger write: its customer comes from the ledger, in the same statements.
    MrrEntry.objects.create(customer=Customer.objects.first(), effective_date=dt.date(2024, 6, 3), mrr=7)
    mrr_ledger_relink()
    marked = _queries(lambda: get(url))
    assert len(marked) == len(api)
    assert "metrics_mrrentry" in marked[-1]


def test_the_refresh_runs_every_minute():
    entry = app.conf.beat_schedule["revenue-rollup-refresh"]
    assert entry["task"] == "metrics.tasks.revenue_rollup_refresh_task"
    app.loader.import_default_modules()
    assert "metrics.tasks.revenue_rollup_refresh_task" in app.tasks


def test_the_task_builds_then_refreshes(csms):
    customer = Customer.objects.create(external_id="K-1", name="K", csm=csms[0])
    MrrEntry.objects.create(customer=customer, effective_date=dt.date(2024, 5, 2), mrr=50)
    mrr_ledger_relink()
    assert revenue_rollup_refresh_task() == -1
    assert revenue_rollup_refresh_task() == 0
    MrrEntry.objects.filter(customer=customer).update(mrr=60)
    assert revenue_rollup_refresh_task() == 1
    month = rollup_totals(scope=Scope(csm=csms[0]), start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 31))
    assert month is not None
    assert (month.opening, month.closing, month.new) == (0, Decimal("60.00"), Decimal("60.00"))


def test_the_trends_months_of_books_read_the_rollup(csms):
    """The trends page's months of a portfolio of books: from the rollup, equal to the facts."""
    from dashboard.selectors import Portfolio, retention_by_month

    _random_company(random.Random(11), csms, 40)
    today = dt.date(2025, 8, 31)  # a month end: every month whole (a month to date may need the ledger)
    books = Portfolio(csms[0], (csms[0].pk, csms[1].pk), "Your teams")
    facts = [m.totals for m in retention_by_month(portfolio=books, today=today)]
    revenue_rollup_refresh()
    rolled: list = []
    sql = _queries(lambda: rolled.extend(retention_by_month(portfolio=books, today=today)))
    assert [m.totals for m in rolled] == facts
    assert sum("revenuerollupcell" in q for q in sql) == 12
    assert not any("metrics_mrrentry" in q and "revenuerollup" not in q for q in sql)
