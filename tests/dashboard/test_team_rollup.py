"""The team page's revenue rollup (docs/architecture.md#dashboard-rollups): on random books and ledgers over
three years, each book's revenue sums for every period the page offers, read from the rollup (stored rows of
unchanged books + the facts of changed ones), equal the fact path's, before and after random writes through
every path; a refresh keeps only today's periods; the page reads the rollup in constant queries."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer
from dashboard.models import HomeRollupMark, TeamRollup
from dashboard.periods import current_quarter, period_choices
from dashboard.services import home_rollup_refresh
from dashboard.team import revenue_by_csm, team_performance
from dashboard.team.rollup import BUILT, revenue_for_team, team_periods
from metrics.models import MrrEntry
from metrics.services import mrr_ledger_relink
from tests.conftest import client_for
from tests.dashboard.conftest import build_book, make_csm

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate()


def _random_company(rng: random.Random, csms: list, today: dt.date, n: int) -> list[Customer]:
    """`n` customers over `csms` (and none), each with 0-6 ledger rows over the three years the team page
    offers (some in the future)."""
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"T-{i}", name=f"T {i}", csm=rng.choice([*csms, None])) for i in range(n)
    )
    ledger = []
    for c in customers:
        for d in rng.sample(range(-1100, 40), rng.randint(0, 6)):
            mrr = Decimal(rng.choice([0, 0, 100, 250, 999])) + Decimal(rng.choice(["0", "0.01", "0.50"]))
            ledger.append(MrrEntry(customer=c, effective_date=today + dt.timedelta(days=d), mrr=mrr))
    MrrEntry.objects.bulk_create(ledger)
    mrr_ledger_relink()
    return customers


def _random_write(rng: random.Random, customers: list[Customer], csms: list, today: dt.date) -> str:
    """One write through one of the paths that change a book's revenue; returns its name."""
    c = rng.choice(customers)
    kind = rng.choice(["reassign", "reassign_save", "ledger", "ledger_sql", "delete", "new"])
    if kind == "reassign":
        Customer.objects.filter(pk=c.pk).update(csm=rng.choice([*csms, None]))
    elif kind == "reassign_save":
        c.refresh_from_db()
        c.csm = rng.choice([*csms, None])
        c.save()
    elif kind == "ledger":
        day = today - dt.timedelta(days=rng.randint(0, 900))
        MrrEntry.objects.update_or_create(
            customer_id=c.pk, effective_date=day, defaults={"mrr": Decimal(rng.choice(["0", "77.70", "5"]))}
        )
        mrr_ledger_relink(customer_ids=[c.pk])
    elif kind == "ledger_sql":  # the bulk ingest's kind of write: SQL, not the ORM
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {MrrEntry._meta.db_table} WHERE customer_id = %s", [c.pk])  # noqa: S608
        mrr_ledger_relink(customer_ids=[c.pk])
    elif kind == "delete":
        Customer.objects.filter(pk=c.pk).delete()
        customers.remove(c)
    else:
        new = Customer.objects.create(
            external_id=f"T-new-{rng.getrandbits(48)}", name="New", csm=rng.choice(csms)
        )
        MrrEntry.objects.create(
            customer=new, effective_date=today - dt.timedelta(days=40), mrr=Decimal("12.34")
        )
        mrr_ledger_relink(customer_ids=[new.pk])
        customers.append(new)
    return kind


def _check_every_period(ids: list[int], today: dt.date) -> None:
    for start, end in team_periods(today):
        facts = revenue_by_csm(csm_ids=ids, start=start, end=end, strategy="scan")
        assert revenue_for_team(csm_ids=ids, start=start, end=end) == facts, (start, end)
        some = ids[:1]
        assert revenue_for_team(csm_ids=some, start=start, end=end) == {
            k: v for k, v in facts.items() if k in some
        }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10**6), n=st.integers(min_value=0, max_value=14))
def test_the_rollup_figures_equal_the_facts_before_and_after_random_writes(csm, other_csm, seed, n):
    TeamRollup.objects.all().delete()
    Customer.objects.filter(external_id__startswith="T-").delete()
    HomeRollupMark.objects.all().delete()
    rng = random.Random(seed)
    today = _today()
    csms = [csm, other_csm]
    ids = [u.pk for u in csms]
    customers = _random_company(rng, csms, today, n)
    _check_every_period(ids, today)  # not built yet: the facts
    home_rollup_refresh(day=today)
    assert not HomeRollupMark.objects.exists()
    assert set(TeamRollup.objects.filter(csm_key=BUILT).values_list("start", "end")) == set(
        team_periods(today)
    )
    _check_every_period(ids, today)  # every book from its stored rows
    for _ in range(3):
        if customers:
            _random_write(rng, customers, csms, today)
        _check_every_period(ids, today)  # changed books from the facts, the others from their rows
    home_rollup_refresh(day=today)
    assert not HomeRollupMark.objects.exists()
    _check_every_period(ids, today)


def test_the_periods_are_the_pages_cut_to_the_day():
    day = dt.date(2026, 5, 10)
    periods = team_periods(day)
    assert (dt.date(2026, 4, 1), day) in periods  # this quarter, to date
    assert (dt.date(2026, 1, 1), day) in periods  # this year, to date
    assert (dt.date(2025, 10, 1), dt.date(2025, 12, 31)) in periods  # a past quarter, whole
    assert (dt.date(2024, 1, 1), dt.date(2024, 12, 31)) in periods
    assert len(periods) == len(period_choices(day))


def test_a_refresh_keeps_only_the_periods_of_its_day(csm):
    build_book(csm, 6, seed=3, prefix="K")
    today = _today()
    home_rollup_refresh(day=today)
    tomorrow = today + dt.timedelta(days=1)
    home_rollup_refresh(day=tomorrow)
    stored = set(TeamRollup.objects.values_list("start", "end"))
    assert stored == set(team_periods(tomorrow))
    assert TeamRollup.objects.filter(csm_key=csm.pk).exists()


def test_a_period_the_rollup_does_not_hold_is_read_from_the_facts(csm, other_csm):
    """The API takes any period: one that is not a stored period reads the facts (same figures)."""
    build_book(csm, 8, seed=4, prefix="A")
    build_book(other_csm, 5, seed=5, prefix="B")
    home_rollup_refresh()
    ids = [csm.pk, other_csm.pk]
    start, end = dt.date(2025, 2, 3), dt.date(2025, 7, 19)
    assert not TeamRollup.objects.filter(start=start, end=end).exists()
    assert revenue_for_team(csm_ids=ids, start=start, end=end) == revenue_by_csm(
        csm_ids=ids, start=start, end=end
    )


def test_the_page_shows_the_same_figures_from_the_rollup(admin_user, csm, other_csm):
    build_book(csm, 10, seed=7, prefix="P")
    build_book(other_csm, 6, seed=8, prefix="Q")
    build_book(None, 2, seed=9, prefix="R")
    client = client_for(admin_user)
    last_year = str(_today().year - 1)
    pages = [reverse("team"), reverse("team") + f"?period={last_year}"]
    from_facts = [client.get(p).context["perf"] for p in pages]
    home_rollup_refresh()
    from_rollup = [client.get(p).context["perf"] for p in pages]
    for facts, rolled in zip(from_facts, from_rollup, strict=True):
        assert [r.revenue for r in rolled.rows] == [r.revenue for r in facts.rows]
        assert rolled.total.revenue == facts.total.revenue
        assert (rolled.total.nrr, rolled.total.grr, rolled.total.arr) == (
            facts.total.nrr,
            facts.total.grr,
            facts.total.arr,
        )


def _count_queries(viewer) -> int:
    period = current_quarter(_today())
    with CaptureQueriesContext(connection) as ctx:
        team_performance(viewer=viewer, start=period.start, end=period.end)
    return len(ctx.captured_queries)


def test_the_page_reads_the_rollup_in_constant_queries(admin_user, manager, csm):
    build_book(csm, 3, seed=1, prefix="H")
    facts = _count_queries(admin_user)  # not built: the rollup's query finds nothing, then the facts
    home_rollup_refresh()
    small = _count_queries(admin_user)
    assert small < facts  # the revenue query (and its savepoint and settings on PostgreSQL) is gone
    for i in range(4):
        build_book(make_csm(f"g{i}@example.com", manager), 12, seed=10 + i, prefix=f"G{i}")
    home_rollup_refresh()
    assert _count_queries(admin_user) == small
    # A changed book adds the facts' revenue query for the changed books, whatever their number.
    Customer.objects.filter(csm=csm).update(csm=make_csm("new@example.com", manager))
    assert _count_queries(admin_user) == facts


def test_the_csv_export_reads_the_facts_with_the_same_figures(admin_user, csm):
    build_book(csm, 6, seed=21, prefix="E")
    home_rollup_refresh()
    client = client_for(admin_user)
    with CaptureQueriesContext(connection) as page:
        assert client.get(reverse("team")).status_code == 200
    with CaptureQueriesContext(connection) as export:
        response = client.get(reverse("team"), {"format": "csv"})
        exported = b"".join(response.streaming_content)
    assert not any("dashboard_teamrollup" in q["sql"] for q in export.captured_queries)
    assert any("dashboard_teamrollup" in q["sql"] for q in page.captured_queries)
    # The rollup's row, made wrong on purpose (by $1 on both ends: the identity still holds), shows on the
    # page but not in the export.
    before = client.get(reverse("team")).context["perf"].total.revenue.closing
    TeamRollup.objects.filter(csm_key=csm.pk).update(
        closing_cents=F("closing_cents") + 100, opening_cents=F("opening_cents") + 100
    )
    assert client.get(reverse("team")).context["perf"].total.revenue.closing == before + 1
    response = client.get(reverse("team"), {"format": "csv"})
    assert b"".join(response.streaming_content) == exported
