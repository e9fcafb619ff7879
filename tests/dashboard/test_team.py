"""Team performance: every CSM's row equals the metric engine's figure for that book, the total equals the
engine over the union, permissions (HTML and API) and constant query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer, Pulse, Touchpoint
from dashboard.team import TEAM_SORTS, sort_rows, team_performance
from metrics.engagement import engagement_metrics
from metrics.renewals import renewal_metrics
from metrics.revenue import revenue_metrics
from metrics.scope import Scope
from playbooks.models import Task
from tests.dashboard.conftest import Q_END, Q_START, build_book, make_csm

pytestmark = pytest.mark.django_db


def _mean(values):
    values = [v for v in values if v is not None]
    return Decimal(sum(values)) / len(values) if values else None


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(Decimal(a) - Decimal(b)) < Decimal("1e-9")


def _move_customers(team):
    """Move customers between books the ways the product does: a saved form (save()), an import or bulk
    reassignment (QuerySet.update). Their facts' copies of the CSM (book_csm) must follow."""
    csm, second, other = list(team)
    moved_by_save = team[csm][:3]
    for customer in moved_by_save:
        customer.csm = other
        customer.save()
    moved_by_update = team[second][:2]
    Customer.objects.filter(pk__in=[c.pk for c in moved_by_update]).update(csm=csm)
    for customer in moved_by_update:
        customer.refresh_from_db()
    return {
        csm: [*team[csm][3:], *moved_by_update],
        second: team[second][2:],
        other: [*team[other], *moved_by_save],
    }


@pytest.fixture
def moved_team(team):
    return _move_customers(team)


@pytest.mark.parametrize("books", ["team", "moved_team"])
def test_each_row_equals_the_engine_for_that_csms_book(books, admin_user, request):
    team = request.getfixturevalue(books)
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    assert {r.csm for r in perf.rows} == set(team)
    assert {r.csm: r.book_size for r in perf.rows} == {u: len(b) for u, b in team.items()}
    checked_ttv = 0
    for row in perf.rows:
        scope = Scope(csm=row.csm)
        engine = revenue_metrics(scope=scope, start=Q_START, end=Q_END)
        assert row.arr == engine.arr_end
        assert row.nrr == engine.nrr
        assert row.grr == engine.grr
        assert row.expansion_mrr == engine.expansion_mrr
        renewals = renewal_metrics(scope=scope, start=Q_START, end=Q_END)
        assert row.renewals_due == renewals.renewals_due
        assert row.logo_renewal_rate == renewals.logo_renewal_rate
        assert _close(row.gross_renewal_rate, renewals.gross_renewal_rate)
        assert _close(row.net_renewal_rate, renewals.net_renewal_rate)
        started = [c for c in team[row.csm] if Q_START <= c.contract_start <= Q_END]
        assert row.started == len(started)
        ttv = [engagement_metrics(customer=c, as_of=Q_END).time_to_value_days for c in started]
        checked_ttv += sum(v is not None for v in ttv)
        assert _close(row.avg_time_to_value_days, _mean(ttv))
        onboard = [engagement_metrics(customer=c, as_of=Q_END).days_to_onboard for c in started]
        assert _close(row.avg_days_to_onboard, _mean(onboard))
        book = Customer.objects.filter(csm=row.csm)
        assert row.book_size == book.count()
        touchpoints = Touchpoint.objects.filter(customer__in=book, occurred_at__date__range=(Q_START, Q_END))
        assert row.touchpoints == touchpoints.count()
        assert row.advocacy_touchpoints == touchpoints.filter(kind="advocacy").count()
    assert checked_ttv > 0, "the data must exercise time to value"


def test_team_total_equals_the_engine_over_the_union_of_the_books(team, admin_user):
    # Every customer belongs to a listed CSM, so the union of the books is the whole company.
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    engine = revenue_metrics(scope=Scope(), start=Q_START, end=Q_END)
    total = perf.total
    assert total.arr == engine.arr_end
    assert total.nrr == engine.nrr
    assert total.grr == engine.grr
    assert total.expansion_mrr == engine.expansion_mrr
    renewals = renewal_metrics(scope=Scope(), start=Q_START, end=Q_END)
    assert total.logo_renewal_rate == renewals.logo_renewal_rate
    assert _close(total.gross_renewal_rate, renewals.gross_renewal_rate)
    assert _close(total.net_renewal_rate, renewals.net_renewal_rate)
    assert total.book_size == Customer.objects.count()
    started = [c for book in team.values() for c in book if Q_START <= c.contract_start <= Q_END]
    ttv = [engagement_metrics(customer=c, as_of=Q_END).time_to_value_days for c in started]
    assert _close(total.avg_time_to_value_days, _mean(ttv))
    # Not an average of the rows' rates.
    row_nrrs = [r.nrr for r in perf.rows if r.nrr is not None]
    assert total.nrr != sum(row_nrrs) / len(row_nrrs)


@pytest.mark.parametrize("books", ["team", "moved_team"])
def test_fresh_pulse_share_and_tasks(books, admin_user, request):
    request.getfixturevalue(books)
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    for row in perf.rows:
        book = Customer.objects.filter(csm=row.csm)
        fresh = {
            p.customer_id
            for p in Pulse.objects.filter(customer__in=book)
            if 0 <= (Q_END - p.created_at.date()).days < 30
        }
        assert row.fresh_pulse_customers == len(fresh)
        tasks = Task.objects.filter(assignee=row.csm, due_date__range=(Q_START, Q_END))
        on_time = [t for t in tasks if t.status == "done" and t.completed_at.date() <= t.due_date]
        late = [t for t in tasks if t.status == "done" and t.completed_at.date() > t.due_date]
        assert row.tasks_on_time == len(on_time)
        assert row.tasks_late == len(late)
        assert row.tasks_overdue == tasks.filter(status="open").count()  # the quarter is in the past


def test_rows_sort_by_every_column_with_nulls_last(team, admin_user):
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    for key in TEAM_SORTS:
        for sort in (key, f"-{key}"):
            rows = sort_rows(perf.rows, sort)
            assert len(rows) == len(perf.rows)
    by_arr = sort_rows(perf.rows, "-arr")
    assert [r.arr for r in by_arr] == sorted((r.arr for r in perf.rows), reverse=True)


# --- Permissions ------------------------------------------------------------------------------------------


def test_csm_cannot_see_team_performance(team, csm):
    with pytest.raises(PermissionDenied):
        team_performance(viewer=csm, start=Q_START, end=Q_END)


def test_manager_sees_only_their_teams_csms(team, manager, csm, other_csm):
    perf = team_performance(viewer=manager, start=Q_START, end=Q_END)
    names = {r.csm for r in perf.rows}
    assert csm in names
    assert other_csm not in names
    assert perf.total.book_size == sum(len(team[u]) for u in names)


def test_admin_sees_every_csm(team, admin_user):
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    assert len(perf.rows) == 3


# --- Query counts ------------------------------------------------------------------------------------------


def _count_queries(viewer) -> int:
    with CaptureQueriesContext(connection) as ctx:
        perf = team_performance(viewer=viewer, start=Q_START, end=Q_END)
        for row in [*perf.rows, perf.total]:
            assert row.csm is None or row.csm.email  # no lazy loads left
    return len(ctx.captured_queries)


def test_query_count_is_constant_in_csms_and_customers(admin_user, manager):
    first = make_csm("one@example.com", manager)
    build_book(first, 3, seed=5, prefix="S")
    small = _count_queries(admin_user)
    for i in range(6):
        build_book(make_csm(f"more{i}@example.com", manager), 12, seed=10 + i, prefix=f"L{i}")
    large = _count_queries(admin_user)
    assert small == large
    # users, the team rollup (not built here: revenue from the facts), revenue (savepoint, SET LOCAL jit on
    # PostgreSQL, query, release), books, touchpoints, renewals, onboarding, tasks
    assert large <= 11


@pytest.mark.parametrize("books", ["team", "moved_team"])
@pytest.mark.parametrize("strategy", ["walk", "scan"])
def test_both_revenue_plans_equal_the_engine_per_book(books, strategy, request):
    from dashboard.team import revenue_by_csm
    from metrics.revenue import revenue_totals

    team = request.getfixturevalue(books)
    for start, end in [(Q_START, Q_END), (Q_START.replace(month=1), Q_END.replace(month=12, day=31))]:
        grouped = revenue_by_csm(csm_ids=[u.pk for u in team], start=start, end=end, strategy=strategy)
        for user in team:
            assert grouped[user.pk] == revenue_totals(scope=Scope(csm=user), start=start, end=end)
