"""The home page's rollup (docs/architecture.md#dashboard-rollups): on random books, ledgers, bands, renewals
and snapshots, the figures the page adds up from the rollup (stored rows of unchanged books + the facts of
changed ones) equal the fact path's, before and after random writes through every path; the database
triggers mark exactly the books a write changes; the page's queries stay constant."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer, LifecycleStage
from cshub.celery import app
from dashboard import selectors
from dashboard.models import HomeRollup, HomeRollupBook, HomeRollupMark
from dashboard.selectors import home_page
from dashboard.selectors.home_rollup import BEFORE_DAYS, book_sums, portfolio_sums
from dashboard.services import home_rollup_refresh
from metrics import revenue
from metrics.models import HealthModel, HealthSnapshot, MrrEntry
from metrics.services import mrr_ledger_relink
from tests.conftest import client_for
from tests.dashboard.conftest import build_book, make_csm

pytestmark = pytest.mark.django_db

BANDS = ["red", "yellow", "green", ""]
STAGES = [LifecycleStage.ONBOARDING, LifecycleStage.MATURE, LifecycleStage.CHURNED]


def _today() -> dt.date:
    # The real today: the snapshot trigger compares dates with the database's clock.
    return timezone.localdate()


def _facts(portfolio, today):
    """The fact path of the home page: the portfolio pass, the at-risk pass and the retention cohort."""
    cohort = selectors.retention(portfolio=portfolio, today=today).totals
    return (
        home_page._portfolio_pass(portfolio=portfolio, day=today),
        home_page._before_pass(portfolio=portfolio, day=today),
        {
            f: getattr(cohort, f)
            for f in ("opening", "customers_start", "retained", "cohort_closing", "cohort_floor")
        },
    )


def _rolled(portfolio, today):
    sums = portfolio_sums(portfolio=portfolio, day=today)
    assert sums is not None
    found, before = home_page._from_rollup(sums)
    cohort = home_page._cohort_of(sums, today).totals
    return (
        found,
        before,
        {
            f: getattr(cohort, f)
            for f in ("opening", "customers_start", "retained", "cohort_closing", "cohort_floor")
        },
    )


def _random_company(rng: random.Random, csms: list, today: dt.date, n: int) -> list[Customer]:
    """`n` customers over `csms` (and none), with random bands, stages, renewals, ledgers and snapshots."""
    model = HealthModel.objects.current()
    customers = Customer.objects.bulk_create(
        Customer(
            external_id=f"R-{i}",
            name=f"R {i}",
            csm=rng.choice([*csms, None]),
            health_band=rng.choice(BANDS),
            lifecycle_stage=rng.choice(STAGES),
            renewal_date=rng.choice([None, today + dt.timedelta(days=rng.randint(-10, 200))]),
        )
        for i in range(n)
    )
    ledger, snapshots = [], []
    for c in customers:
        days = rng.sample(range(-450, 40), rng.randint(0, 5))  # some rows in the future
        for d in days:
            mrr = Decimal(rng.choice([0, 0, 100, 250, 999])) + Decimal(rng.choice(["0", "0.01", "0.50"]))
            ledger.append(MrrEntry(customer=c, effective_date=today + dt.timedelta(days=d), mrr=mrr))
        if rng.random() < 0.7:
            day = today - dt.timedelta(days=rng.choice([BEFORE_DAYS, BEFORE_DAYS, 7]))
            snapshots.append(
                HealthSnapshot(customer=c, date=day, band=rng.choice(BANDS), model=model, score=50)
            )
    MrrEntry.objects.bulk_create(ledger)
    mrr_ledger_relink()
    HealthSnapshot.objects.bulk_create(snapshots)
    return customers


def _random_write(rng: random.Random, customers: list[Customer], csms: list, today: dt.date) -> str:
    """One write through one of the paths the rollup must follow; returns its name."""
    c = rng.choice(customers)
    kind = rng.choice(["reassign", "band", "stage", "renewal", "ledger", "ledger_sql", "snapshot", "delete"])
    if kind == "reassign":
        Customer.objects.filter(pk=c.pk).update(csm=rng.choice([*csms, None]))
    elif kind == "band":
        Customer.objects.filter(pk=c.pk).update(health_band=rng.choice(BANDS))
    elif kind == "stage":
        Customer.objects.filter(pk=c.pk).update(lifecycle_stage=rng.choice(STAGES))
    elif kind == "renewal":
        Customer.objects.filter(pk=c.pk).update(renewal_date=today + dt.timedelta(days=rng.randint(0, 100)))
    elif kind == "ledger":
        day = today - dt.timedelta(days=rng.randint(0, 400))
        MrrEntry.objects.update_or_create(
            customer_id=c.pk, effective_date=day, defaults={"mrr": Decimal("77.70")}
        )
        mrr_ledger_relink(customer_ids=[c.pk])
    elif kind == "ledger_sql":  # the bulk ingest's kind of write: SQL, not the ORM
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {MrrEntry._meta.db_table} WHERE customer_id = %s", [c.pk])  # noqa: S608
        mrr_ledger_relink(customer_ids=[c.pk])
    elif kind == "snapshot":
        HealthSnapshot.objects.update_or_create(
            customer_id=c.pk,
            date=today - dt.timedelta(days=BEFORE_DAYS),
            defaults={"band": rng.choice(BANDS), "model": HealthModel.objects.current(), "score": 40},
        )
    else:
        Customer.objects.filter(pk=c.pk).delete()
        customers.remove(c)
    return kind


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10**6), n=st.integers(min_value=0, max_value=14))
def test_the_rollup_figures_equal_the_facts_before_and_after_random_writes(
    admin_user, csm, other_csm, manager, seed, n
):
    HomeRollup.objects.all().delete()
    HomeRollupBook.objects.all().delete()
    Customer.objects.filter(external_id__startswith="R-").delete()
    HomeRollupMark.objects.all().delete()
    rng = random.Random(seed)
    today = _today()
    csms = [csm, other_csm]
    customers = _random_company(rng, csms, today, n)
    portfolios = [selectors.portfolio_for(u) for u in (admin_user, manager, csm, other_csm)]
    assert portfolio_sums(portfolio=portfolios[0], day=today) is None  # not built yet: the page reads facts
    home_rollup_refresh(day=today)
    assert not HomeRollupMark.objects.exists()
    for p in portfolios:
        assert _rolled(p, today) == _facts(p, today), p.label
    for _ in range(3):
        if customers:
            _random_write(rng, customers, csms, today)
        for p in portfolios:  # changed books from the facts, the others from their rows
            assert _rolled(p, today) == _facts(p, today), p.label
    home_rollup_refresh(day=today)
    assert not HomeRollupMark.objects.exists()
    for p in portfolios:
        assert _rolled(p, today) == _facts(p, today), p.label


def test_the_books_sums_of_some_books_equal_those_of_all(csm, other_csm):
    """The few-books plan (PostgreSQL: index lookups per customer) and the whole-company plan agree."""
    build_book(csm, 8, seed=4, prefix="S")
    build_book(other_csm, 8, seed=5, prefix="T")
    build_book(None, 3, seed=6, prefix="U")
    today = _today()
    everything = book_sums(day=today)
    assert set(everything) == {csm.pk, other_csm.pk, 0}
    some = book_sums(day=today, books=[csm.pk, 0])
    assert some == {csm.pk: everything[csm.pk], 0: everything[0]}


# --- The marks ------------------------------------------------------------------------------------


def _marked() -> set[int]:
    return set(HomeRollupMark.objects.values_list("csm_key", flat=True))


def _customer(csm, **fields) -> Customer:
    c = Customer.objects.create(external_id=f"M-{Customer.objects.count()}", name="M", csm=csm, **fields)
    return c


def test_writes_mark_the_books_they_change(csm, other_csm):
    c = _customer(csm)
    assert _marked() == {csm.pk}
    HomeRollupMark.objects.all().delete()

    Customer.objects.filter(pk=c.pk).update(name="Renamed", health_score=12)  # columns the rows do not read
    assert _marked() == set()
    Customer.objects.filter(pk=c.pk).update(csm=other_csm)  # both books change
    assert _marked() == {csm.pk, other_csm.pk}
    HomeRollupMark.objects.all().delete()
    Customer.objects.filter(pk=c.pk).update(csm=None)
    assert _marked() == {other_csm.pk, 0}
    HomeRollupMark.objects.all().delete()

    Customer.objects.filter(pk=c.pk).update(csm=csm)
    HomeRollupMark.objects.all().delete()
    MrrEntry.objects.create(customer=c, effective_date=dt.date(2024, 1, 1), mrr=Decimal("10"))
    assert _marked() == {csm.pk}
    HomeRollupMark.objects.all().delete()
    mrr_ledger_relink(customer_ids=[c.pk])  # nothing to change: no mark
    assert _marked() == set()

    model = HealthModel.objects.current()
    today = _today()
    HealthSnapshot.objects.create(customer=c, date=today, band="red", model=model, score=1)
    assert _marked() == set()  # today's snapshot changes no row (rows read day - 30)
    HealthSnapshot.objects.create(
        customer=c, date=today - dt.timedelta(days=BEFORE_DAYS), band="red", model=model
    )
    assert _marked() == {csm.pk}
    HomeRollupMark.objects.all().delete()

    c.delete()
    assert _marked() == {csm.pk}


def test_a_refresh_deletes_only_the_marks_it_read(csm, other_csm):
    c = _customer(csm)
    today = _today()
    assert home_rollup_refresh(day=today) == 1
    assert not HomeRollupMark.objects.exists()
    assert home_rollup_refresh(day=today) == 0  # nothing changed: nothing to do
    # A write landing after the refresh read the marks is left for the next refresh.
    Customer.objects.filter(pk=c.pk).update(health_band="red")
    HomeRollupMark.objects.create(csm_key=other_csm.pk)
    assert home_rollup_refresh(day=today) == 1  # csm's book rebuilt; other_csm's book has no customers
    assert not HomeRollupMark.objects.exists()
    assert HomeRollup.objects.get(day=today, csm_key=csm.pk, band="red").customers == 1
    # Another day: everything again, and the old day's rows go.
    tomorrow = today + dt.timedelta(days=1)
    home_rollup_refresh(day=tomorrow)
    assert set(HomeRollupBook.objects.values_list("day", flat=True)) == {tomorrow}


def test_an_empty_company_is_built_and_empty(admin_user):
    today = _today()
    home_rollup_refresh(day=today)
    sums = portfolio_sums(portfolio=selectors.portfolio_for(admin_user), day=today)
    assert sums is not None
    assert sums.bands == {}


def test_the_refresh_runs_every_minute():
    entry = app.conf.beat_schedule["home-rollup-refresh"]
    assert entry["task"] == "dashboard.tasks.home_rollup_refresh_task"
    app.loader.import_default_modules()
    assert "dashboard.tasks.home_rollup_refresh_task" in app.tasks


# --- The page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["csm", "manager", "admin_user"])
def test_the_page_shows_the_same_figures_from_the_rollup(who, request, csm, manager):
    build_book(csm, 10, seed=7, prefix="P")
    build_book(None, 2, seed=8, prefix="Q")
    client = client_for(request.getfixturevalue(who))
    from_facts = client.get(reverse("home")).context["home"]
    home_rollup_refresh()
    from_rollup = client.get(reverse("home")).context["home"]
    for name in ("bands", "windows", "at_risk", "retention", "customers", "arr"):
        assert getattr(from_rollup, name) == getattr(from_facts, name), name


@pytest.mark.parametrize("who", ["manager", "admin_user"])
def test_the_page_reads_the_rollup_in_constant_queries(who, request, csm, manager, django_assert_num_queries):
    client = client_for(request.getfixturevalue(who))
    build_book(csm, 3, seed=1, prefix="H")
    home_rollup_refresh()
    client.get(reverse("home"))  # the session and the user cached as any later request
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("home")).status_code == 200
    build_book(csm, 20, seed=2, prefix="I")
    for i in range(4):
        build_book(make_csm(f"g{i}@example.com", manager), 12, seed=10 + i, prefix=f"G{i}")
    home_rollup_refresh()
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(reverse("home")).status_code == 200
    # A changed book adds its three fact queries, whatever its size.
    Customer.objects.filter(csm=csm).update(health_band="red")
    with django_assert_num_queries(len(small.captured_queries) + 3):
        assert client.get(reverse("home")).status_code == 200


def test_the_cohorts_per_book_are_each_books_cohort(csm, other_csm):
    """metrics.revenue.cohorts_of_customers (a few changed books on PostgreSQL) = each book's cohort."""
    build_book(csm, 8, seed=11, prefix="V")
    build_book(other_csm, 8, seed=12, prefix="W")
    build_book(None, 4, seed=13, prefix="X")
    start, end = dt.date(2025, 2, 1), dt.date(2025, 6, 30)
    grouped = revenue.cohorts_of_customers(
        where=("", []), group="COALESCE(cu.csm_id, 0)", start=start, end=end
    )
    assert set(grouped) == {csm.pk, other_csm.pk, 0}
    for book, where in (
        (csm.pk, (" AND cu.csm_id = %s", [csm.pk])),
        (other_csm.pk, (" AND cu.csm_id = %s", [other_csm.pk])),
        (0, (" AND cu.csm_id IS NULL", [])),
    ):
        assert grouped[book] == revenue.cohort_of_customers(where=where, start=start, end=end)
