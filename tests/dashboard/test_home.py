"""Home dashboard and trends: each figure from its source (denormalised health, ledger, snapshots, engine,
surveys, playbooks), scoped to the viewer's portfolio, in a constant number of queries; CSV = the tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from core.exports import read_csv
from dashboard import selectors
from metrics.models import HealthModel, HealthSnapshot, MrrEntry, Renewal
from metrics.revenue import monthly_revenue, revenue_metrics
from metrics.scope import Scope
from metrics.services import mrr_ledger_relink
from playbooks.models import Playbook, Run, Task
from surveys.models import Response
from tests.conftest import client_for
from tests.dashboard.conftest import build_book, make_csm
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _ledger(customer: Customer, *rows: tuple[dt.date, int]) -> None:
    MrrEntry.objects.bulk_create(
        MrrEntry(customer=customer, effective_date=d, mrr=Decimal(m)) for d, m in rows
    )
    mrr_ledger_relink(customer_ids=[customer.pk])


def _customer(csm, band: str, mrr: int, **fields) -> Customer:
    score = {"red": 30, "yellow": 55, "green": 80, "": None}[band]
    c = CustomerFactory(csm=csm, health_band=band, health_score=score, health_as_of=TODAY, **fields)
    _ledger(c, (TODAY - dt.timedelta(days=400), mrr))
    return c


def _snapshot(customer: Customer, day: dt.date, band: str, score: float, components=()) -> HealthSnapshot:
    return HealthSnapshot.objects.create(
        customer=customer,
        date=day,
        band=band,
        score=score,
        model=HealthModel.objects.current(),
        components=list(components),
    )


@pytest.fixture
def book(csm, other_csm):
    mine = [
        _customer(csm, "red", 100, renewal_date=TODAY + dt.timedelta(days=20)),
        _customer(csm, "yellow", 200, renewal_date=TODAY + dt.timedelta(days=120)),
        _customer(csm, "green", 300, renewal_date=TODAY + dt.timedelta(days=400)),
        _customer(csm, "", 50, renewal_date=None),
    ]
    theirs = [_customer(other_csm, "red", 1000, renewal_date=TODAY + dt.timedelta(days=10))]
    return mine, theirs


# --- Figures --------------------------------------------------------------------------------------


def test_band_distribution_in_customers_and_arr_for_a_csm(book, csm):
    home = selectors.home(user=csm, today=TODAY)
    by_band = {r.band: r for r in home.bands}
    assert by_band["red"].customers == 1
    assert by_band["red"].arr == Decimal("1200.00")
    assert by_band["yellow"].arr == Decimal("2400.00")
    assert by_band["green"].arr == Decimal("3600.00")
    assert by_band[""].customers == 1
    assert home.customers == 4
    assert home.arr == Decimal("7800.00")
    assert by_band["red"].customer_share == Decimal("0.25")
    assert home.at_risk.arr == Decimal("3600.00")
    assert home.at_risk.customers == 2


def test_manager_and_admin_portfolios(book, manager, admin_user, other_manager):
    assert selectors.home(user=manager, today=TODAY).customers == 4
    assert selectors.home(user=admin_user, today=TODAY).customers == 5
    assert selectors.home(user=other_manager, today=TODAY).at_risk.arr == Decimal("12000.00")


def test_at_risk_change_over_30_days_comes_from_snapshots(book, csm):
    red, yellow, green, _none = book[0]
    day = TODAY - dt.timedelta(days=30)
    _snapshot(red, day, "green", 80)
    _snapshot(yellow, day, "yellow", 50)
    _snapshot(green, day, "red", 20)
    risk = selectors.home(user=csm, today=TODAY).at_risk
    assert risk.arr_before == Decimal("6000.00")  # yellow 200 + red 300 (MRR that day) x 12
    assert risk.customers_before == 2
    assert risk.change == Decimal("-2400.00")


def test_at_risk_before_and_windows_for_a_manager_and_an_admin(book, csm, manager, admin_user):
    """The manager's books (a lookup per customer on PostgreSQL) and the whole company (one join of that day's
    snapshots to the ledger) give the same figures as the CSM's book when the snapshots are all in it."""
    red, yellow, green, _none = book[0]
    day = TODAY - dt.timedelta(days=30)
    _snapshot(red, day, "green", 80)
    _snapshot(yellow, day, "yellow", 50)
    _snapshot(green, day, "red", 20)
    for user in (manager, admin_user):
        home = selectors.home(user=user, today=TODAY)
        assert home.at_risk.arr_before == Decimal("6000.00")
        assert home.at_risk.customers_before == 2
    everyone = selectors.home(user=admin_user, today=TODAY)
    w90, w180 = everyone.windows
    # csm's red (MRR 100, in 20 days) and other_csm's red (MRR 1,000, in 10 days); then csm's yellow (200).
    assert (w90.customers, w90.arr, w90.at_risk) == (2, Decimal("13200.00"), 2)
    assert (w180.customers, w180.arr, w180.at_risk) == (3, Decimal("15600.00"), 3)
    assert everyone.at_risk.arr == Decimal("15600.00")


def test_at_risk_change_is_unknown_without_snapshots_that_day(book, csm):
    risk = selectors.home(user=csm, today=TODAY).at_risk
    assert risk.arr_before is None
    assert risk.change is None


def test_renewal_windows_and_list(book, csm):
    home = selectors.home(user=csm, today=TODAY)
    w90, w180 = home.windows
    assert (w90.customers, w90.arr, w90.at_risk) == (1, Decimal("1200.00"), 1)
    assert (w180.customers, w180.arr, w180.at_risk) == (2, Decimal("3600.00"), 2)
    assert [c.pk for c in home.renewals] == [book[0][0].pk, book[0][1].pk]
    assert home.renewals[0].mrr_now == Decimal("100")


def test_renewals_show_open_playbooks(book, csm):
    red = book[0][0]
    playbook = Playbook.objects.create(name="Rescue")
    Run.objects.create(playbook=playbook, customer=red, assignee=csm, reason="red")
    other = Playbook.objects.create(name="Other")
    Run.objects.create(playbook=other, customer=red, assignee=csm, reason="x", status="done")
    home = selectors.home(user=csm, today=TODAY)
    assert home.renewals[0].open_playbooks == 1
    assert home.renewals[1].open_playbooks == 0


def test_churned_customers_are_not_counted_red(book, csm):
    """docs/health.md#who-is-scored: a churned customer keeps its last (red) band as history; the home page
    counts it in no band and lists it in no drop. Its MRR went to 0 through the ledger, which churns it."""
    red = book[0][0]
    Customer.objects.filter(pk=red.pk).update(health_change_7d=Decimal("-22.0"))
    _ledger(red, (TODAY - dt.timedelta(days=5), 0))
    assert Customer.objects.get(pk=red.pk).lifecycle_stage == "churned"
    home = selectors.home(user=csm, today=TODAY)
    by_band = {r.band: r for r in home.bands}
    assert by_band["red"].customers == 0
    assert home.customers == 3
    assert home.at_risk.customers == 1  # the yellow one
    assert home.drops == []


def test_biggest_drops_carry_what_moved(book, csm):
    red = book[0][0]
    Customer.objects.filter(pk=red.pk).update(health_change_7d=Decimal("-22.0"))
    week_ago = TODAY - dt.timedelta(days=7)
    before = {"factor": "pulse", "raw_value": 5.0, "score": 100, "weight": 50, "contribution": 50.0}
    after = {"factor": "pulse", "raw_value": 1.0, "score": 0, "weight": 50, "contribution": 0.0}
    _snapshot(red, week_ago, "green", 52, [before])
    _snapshot(red, TODAY, "red", 30, [after])
    drops = selectors.home(user=csm, today=TODAY).drops
    assert [d.customer.pk for d in drops] == [red.pk]
    assert "CSM pulse" in drops[0].moved_line
    assert "5 / 5" in drops[0].moved_line


def test_retention_is_the_engines_for_a_csm_and_for_the_company(book, csm, admin_user):
    c = book[0][0]
    _ledger(c, (TODAY - dt.timedelta(days=100), 150))
    start, end = selectors.trailing_year(TODAY)
    mine = selectors.home(user=csm, today=TODAY).retention
    engine = revenue_metrics(scope=Scope(csm=csm), start=start, end=end)
    assert mine.nrr == engine.nrr
    assert mine.grr == engine.grr
    assert mine.churn == engine.customer_churn_rate
    everyone = selectors.home(user=admin_user, today=TODAY).retention
    assert everyone.nrr == revenue_metrics(scope=Scope(), start=start, end=end).nrr


def test_manager_retention_is_the_engine_over_the_union_of_their_books(csm, other_csm, manager):
    second = make_csm("second.csm@example.com", manager)
    build_book(csm, 6, seed=1, prefix="A")
    build_book(second, 6, seed=2, prefix="B")
    # other_csm has no customers, so the manager's portfolio is the whole company.
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    totals = selectors.portfolio_revenue(portfolio=selectors.portfolio_for(manager), start=start, end=end)
    engine = revenue_metrics(scope=Scope(), start=start, end=end)
    assert totals.opening == engine.mrr_start
    assert totals.closing == engine.mrr_end
    assert selectors.Retention(start, end, totals).nrr == engine.nrr
    assert selectors.Retention(start, end, totals).grr == engine.grr


def test_nps_of_the_last_90_days_in_the_portfolio(book, csm):
    mine, theirs = book
    now = timezone.now()
    for score, customer, days in [
        (10, mine[0], 5),
        (9, mine[1], 80),
        (3, mine[2], 10),
        (0, mine[0], 120),
        (0, theirs[0], 3),
    ]:
        Response.objects.create(
            customer=customer,
            contact_email=f"{score}{days}@x.example",
            kind="nps",
            score=score,
            answered_at=now - dt.timedelta(days=days),
        )
    nps = selectors.home(user=csm, today=TODAY).nps
    assert nps.responses == 3
    assert nps.score == pytest.approx(100 * (2 - 1) / 3, abs=0.01)


def test_overdue_tasks_of_the_portfolio(book, csm, other_csm):
    playbook = Playbook.objects.create(name="Rescue")
    mine = Run.objects.create(playbook=playbook, customer=book[0][0], assignee=csm, reason="r")
    theirs = Run.objects.create(playbook=playbook, customer=book[1][0], assignee=other_csm, reason="r")
    Task.objects.create(run=mine, title="Call", assignee=csm, due_date=TODAY - dt.timedelta(days=3))
    Task.objects.create(run=mine, title="Later", assignee=csm, due_date=TODAY + dt.timedelta(days=3))
    Task.objects.create(
        run=mine, title="Done", assignee=csm, due_date=TODAY - dt.timedelta(days=3), status="done"
    )
    Task.objects.create(run=theirs, title="Theirs", assignee=other_csm, due_date=TODAY - dt.timedelta(days=1))
    home = selectors.home(user=csm, today=TODAY)
    assert home.overdue_count == 1
    assert [t.title for t in home.overdue] == ["Call"]


def test_oldest_overdue_are_the_first_rows_of_overdue_tasks(book, csm, manager, django_assert_num_queries):
    """The home card picks its tasks before joining them: the same rows, in the same order, as the full
    (exported) list, with their customer, playbook and assignee loaded."""
    playbook = Playbook.objects.create(name="Rescue")
    for i, customer in enumerate(book[0]):
        run = Run.objects.create(playbook=playbook, customer=customer, assignee=csm, reason="r")
        for k in range(4):
            # Same due dates on several tasks: the pk breaks the tie, as in the export.
            due = TODAY - dt.timedelta(days=1 + (i + k) % 3)
            Task.objects.create(run=run, order=k, title=f"T{i}-{k}", assignee=csm, due_date=due)
    for user in (csm, manager):
        portfolio = selectors.portfolio_for(user)
        full = list(selectors.overdue_tasks(portfolio=portfolio, today=TODAY))
        assert len(full) > selectors.LIST_LIMIT
        first = selectors.oldest_overdue(portfolio=portfolio, today=TODAY)
        assert [t.pk for t in first] == [t.pk for t in full[: selectors.LIST_LIMIT]]
        with django_assert_num_queries(0):  # loaded with the tasks
            assert first[0].run.customer.name == full[0].run.customer.name
            assert first[0].run.playbook.name == "Rescue"
            assert first[0].assignee.email == csm.email


def test_home_queries_run_in_one_transaction_without_jit(book, admin_user):
    """On PostgreSQL the page's queries share one transaction with JIT off (compiling them costs more than
    running them); on SQLite there is nothing to switch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        selectors.home(user=admin_user, today=TODAY)
    statements = [q["sql"] for q in ctx.captured_queries]
    if connection.vendor == "postgresql":
        assert statements[0] == "SET LOCAL jit = off"
        assert statements[1] == "SET LOCAL max_parallel_workers_per_gather = 1"  # the default setting
    assert not any("SAVEPOINT" in sql for sql in statements)


def test_the_parallel_workers_cap_is_a_setting(book, admin_user, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CSHUB_PAGE_PARALLEL_WORKERS = -1  # keep the server's own setting
    with CaptureQueriesContext(connection) as ctx:
        selectors.home(user=admin_user, today=TODAY)
    assert not any("max_parallel_workers" in q["sql"] for q in ctx.captured_queries)
    settings.CSHUB_PAGE_PARALLEL_WORKERS = 4
    with CaptureQueriesContext(connection) as ctx:
        selectors.home(user=admin_user, today=TODAY)
    expected = ["SET LOCAL max_parallel_workers_per_gather = 4"] if connection.vendor == "postgresql" else []
    assert [q["sql"] for q in ctx.captured_queries if "max_parallel" in q["sql"]] == expected


# --- Trends ---------------------------------------------------------------------------------------


def test_band_mix_by_month_counts_month_end_snapshots(book, csm):
    red, yellow, *_ = book[0]
    last_month_end = TODAY.replace(day=1) - dt.timedelta(days=1)
    _snapshot(red, last_month_end, "yellow", 50)
    _snapshot(yellow, last_month_end, "yellow", 50)
    _snapshot(red, TODAY, "red", 30)
    _snapshot(red, last_month_end - dt.timedelta(days=3), "green", 90)  # not a month end: ignored
    mix = selectors.band_mix_by_month(portfolio=selectors.portfolio_for(csm), today=TODAY)
    assert len(mix) == 12
    assert mix[-1].day == TODAY
    assert mix[-1].counts == {"red": 1}
    assert mix[-2].day == last_month_end
    assert mix[-2].counts == {"yellow": 2}
    assert all(m.total == 0 for m in mix[:-2])


def test_retention_by_month_equals_the_revenue_page_for_the_company(book, admin_user):
    months = selectors.retention_by_month(portfolio=selectors.portfolio_for(admin_user), today=TODAY)
    engine = monthly_revenue(scope=Scope(), last_month=TODAY, months=12)
    assert [m.nrr for m in months] == [e.nrr for e in engine]
    assert [m.grr for m in months] == [e.grr for e in engine]


def test_renewals_funnel(book, csm):
    mine = book[0]
    due = TODAY - dt.timedelta(days=30)
    Renewal.objects.create(customer=mine[0], due_date=due, arr_due=1000, outcome="renewed", renewed_arr=1200)
    Renewal.objects.create(customer=mine[1], due_date=due, arr_due=1000, outcome="renewed", renewed_arr=800)
    Renewal.objects.create(customer=mine[2], due_date=due, arr_due=1000, outcome="churned")
    Renewal.objects.create(customer=mine[3], due_date=due, arr_due=1000, outcome="pending")
    Renewal.objects.create(customer=book[1][0], due_date=due, arr_due=5000, outcome="churned")
    stages, _start, _end = selectors.renewals_funnel(portfolio=selectors.portfolio_for(csm), today=TODAY)
    by_key = {s.key: (s.count, s.arr) for s in stages}
    assert by_key["due"] == (4, Decimal("4000.00"))
    assert by_key["decided"] == (3, Decimal("3000.00"))
    assert by_key["renewed"] == (2, Decimal("2000.00"))
    assert by_key["kept"] == (1, Decimal("1000.00"))
    assert by_key["churned"] == (1, Decimal("1000.00"))
    assert by_key["pending"] == (1, Decimal("1000.00"))


# --- Pages, permissions, exports, query counts ----------------------------------------------------


def test_home_needs_a_login(anonymous):
    response = anonymous.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert anonymous.get(reverse("trends")).status_code == 302


@pytest.mark.parametrize("who", ["csm", "manager", "admin_user"])
def test_home_and_trends_render_for_every_role(book, who, request):
    client = client_for(request.getfixturevalue(who))
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert b"Health by band" in page.content
    trends = client.get(reverse("trends"))
    assert trends.status_code == 200
    assert b"Renewals funnel" in trends.content
    partial = client.get(reverse("trends"), HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content


def test_csm_home_never_shows_other_books(book, csm_client):
    page = csm_client.get(reverse("home")).content.decode()
    assert book[1][0].name not in page
    assert book[0][0].name in page


def test_home_csv_exports_match_the_tables(book, csm, csm_client):
    rows = read_csv(
        b"".join(csm_client.get(reverse("home"), {"format": "csv", "table": "bands"}).streaming_content)
    )
    assert rows[0] == ["band", "customers", "customer_share", "arr", "arr_share"]
    assert [r[0] for r in rows[1:]] == ["Red", "Yellow", "Green", "No score"]
    assert rows[1][1:4] == ["1", "0.25", "1200"]
    response = csm_client.get(reverse("home"), {"format": "csv", "table": "renewals"})
    assert response["Content-Type"].startswith("text/csv")
    renewals = read_csv(b"".join(response.streaming_content))
    home = selectors.home(user=csm, today=TODAY)
    assert [r[0] for r in renewals[1:]] == [c.external_id for c in home.renewals]
    assert renewals[1][renewals[0].index("mrr")] == "100"


def test_trends_csv_exports(book, admin_client, admin_user):
    for table in ("band_mix", "retention", "funnel"):
        response = admin_client.get(reverse("trends"), {"format": "csv", "table": table})
        assert response.status_code == 200
        rows = read_csv(b"".join(response.streaming_content))
        assert len(rows) == {"band_mix": 13, "retention": 13, "funnel": 7}[table]


def _grow(manager, n_csms: int, per_csm: int, seed: int) -> None:
    for i in range(n_csms):
        build_book(
            make_csm(f"g{seed}-{i}@example.com", manager), per_csm, seed=seed + i, prefix=f"G{seed}-{i}"
        )


@pytest.mark.parametrize("who", ["csm", "manager", "admin_user"])
def test_home_and_trends_queries_are_constant(who, request, manager, csm, django_assert_max_num_queries):
    client = client_for(request.getfixturevalue(who))
    build_book(csm, 3, seed=1, prefix="H")
    with django_assert_max_num_queries(22):
        assert client.get(reverse("home")).status_code == 200
    with django_assert_max_num_queries(66):
        assert client.get(reverse("trends")).status_code == 200
    build_book(csm, 20, seed=2, prefix="I")
    _grow(manager, 4, 12, seed=10)
    with django_assert_max_num_queries(22):
        assert client.get(reverse("home")).status_code == 200
    with django_assert_max_num_queries(66):
        assert client.get(reverse("trends")).status_code == 200


def test_home_shows_what_at_risk_arr_counts_not_only_in_a_tooltip(book, csm_client):
    page = csm_client.get(reverse("home")).content.decode()
    definition = page[page.index('data-testid="at-risk-definition"') :]
    definition = definition[: definition.index("</div>")]
    assert "red or yellow" in definition
    assert "red $1,200" in definition  # the red customer's 100 MRR x 12
    assert "yellow $2,400" in definition


def test_trends_says_when_the_band_mix_history_starts(book, csm, csm_client):
    red = book[0][0]
    last_month_end = TODAY.replace(day=1) - dt.timedelta(days=1)
    _snapshot(red, last_month_end, "red", 30)
    page = csm_client.get(reverse("trends")).content.decode()
    note = f"No health snapshots before {last_month_end:%B %Y}"
    assert note in page
    first = selectors.band_mix_by_month(portfolio=selectors.portfolio_for(csm), today=TODAY)[0]
    _snapshot(red, first.day, "red", 30)  # history from the chart's first month: nothing to explain
    assert "No health snapshots before" not in csm_client.get(reverse("trends")).content.decode()
