"""The home dashboard of a portfolio, in a fixed number of queries whatever its size: health by band (in
customers and ARR), at-risk ARR now and 30 days ago, renewals due, the week's biggest health drops, revenue
retention, NPS and overdue tasks.

Health comes from the denormalised Customer.health_* fields (today) and from snapshots (30 days ago); money
from the MRR ledger (the row in force on a day); revenue retention from .revenue_retention; NPS from
surveys.scores; overdue tasks from playbooks. The whole-portfolio sums (bands, renewal windows, at-risk ARR,
retention) are added up from the home rollup when today's is built (.home_rollup,
docs/architecture.md#dashboard-rollups); the lists always read the facts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Customer, LifecycleStage, User
from core.db import reader
from core.numbers import ratio
from core.sql import ZERO_MONEY, analytic_transaction, cents_sql, day_start, dollars, to_cents
from metrics.health.selectors import Movement, explain
from metrics.models import HealthSnapshot, MrrEntry
from metrics.revenue import Cohort
from metrics.scope import adapt_date, q
from playbooks.models import Run, RunStatus, Task, TaskStatus
from surveys.models import Response
from surveys.scores import SurveyScore, nps_score

from .home_rollup import (
    AT_RISK,
    BEFORE_DAYS,
    RENEWAL_WINDOWS,
    Sums,
    mrr_join,
    portfolio_sums,
    renewal_window_columns,
    trailing_year,
)
from .portfolio import Portfolio, portfolio_for
from .revenue_retention import Retention, retention

BANDS = ("red", "yellow", "green", "")  # "" = no score yet
BAND_LABELS = {"red": "Red", "yellow": "Yellow", "green": "Green", "": "No score"}
LIST_LIMIT = 10  # rows shown in a home table; its CSV export has them all (up to EXPORT_LIMIT)
EXPORT_LIMIT = 50_000


# --- Health by band, in customers and in ARR ------------------------------------------------------


@dataclass(frozen=True)
class BandRow:
    band: str
    customers: int
    arr: Decimal
    customer_share: Decimal | None
    arr_share: Decimal | None

    @property
    def label(self) -> str:
        return BAND_LABELS[self.band]

    @property
    def key(self) -> str:
        return self.band or "none"

    @property
    def customer_width(self) -> str:
        """CSS width in % of the band's segment in the customers bar."""
        return f"{(self.customer_share or 0) * 100:.2f}"

    @property
    def arr_width(self) -> str:
        return f"{(self.arr_share or 0) * 100:.2f}"


def _portfolio_pass(
    *, portfolio: Portfolio, day: dt.date
) -> dict[str, tuple[int, int, list[tuple[int, int, int]]]]:
    """One pass over the portfolio's customers joined to the ledger row in force on `day`: per current
    health band, (customers, MRR cents, [(renewing, their MRR cents, at-risk renewing) per window]).

    Churned customers are left out (docs/health.md#who-is-scored): they get no new snapshot, so their
    denormalised band is the last one before they left, often red, and would count as a customer at risk."""
    customers = q(Customer._meta.db_table)
    scope_sql, scope_params = portfolio.sql("cu.csm_id")
    d = adapt_date(day)
    windows, params = renewal_window_columns(day)
    sql = f"""
        SELECT cu.health_band, COUNT(*), COALESCE(SUM({cents_sql("l.mrr")}), 0), {", ".join(windows)}
        FROM {customers} cu {mrr_join(everything=portfolio.is_everything)}
        WHERE cu.lifecycle_stage <> %s{scope_sql}
        GROUP BY cu.health_band
    """  # noqa: S608
    with reader().cursor() as cursor:
        cursor.execute(sql, [*params, d, d, LifecycleStage.CHURNED.value, *scope_params])
        rows = cursor.fetchall()
    out = {}
    for band, n, cents, *rest in rows:
        per_window = []
        for i, _days in enumerate(RENEWAL_WINDOWS):
            renewing, renewing_cents = int(rest[2 * i] or 0), to_cents(rest[2 * i + 1])
            per_window.append((renewing, renewing_cents, renewing if (band or "") in AT_RISK else 0))
        out[band or ""] = (int(n), to_cents(cents), per_window)
    return out


def _band_rows(found: dict[str, tuple[int, int, list]]) -> list[BandRow]:
    total_n = sum(n for n, _c, _w in found.values())
    total_cents = sum(c for _n, c, _w in found.values())
    rows = []
    for band in BANDS:
        n, cents, _w = found.get(band, (0, 0, []))
        rows.append(
            BandRow(
                band=band,
                customers=n,
                arr=dollars(cents) * 12,
                customer_share=ratio(n, total_n),
                arr_share=ratio(cents, total_cents),
            )
        )
    return rows


def _window_rows(found: dict[str, tuple[int, int, list]]) -> list[RenewalWindow]:
    out = []
    for i, days in enumerate(RENEWAL_WINDOWS):
        parts = [w[i] for _n, _c, w in found.values()]
        out.append(
            RenewalWindow(
                days=days,
                customers=sum(p[0] for p in parts),
                arr=dollars(sum(p[1] for p in parts)) * 12,
                at_risk=sum(p[2] for p in parts),
            )
        )
    return out


def band_distribution(*, portfolio: Portfolio, day: dt.date) -> list[BandRow]:
    """Customers and ARR (12 x MRR on `day`) per current health band (Customer.health_band), one query."""
    return _band_rows(_portfolio_pass(portfolio=portfolio, day=day))


@dataclass(frozen=True)
class AtRisk:
    """ARR of red + yellow customers now and on the day 30 days earlier (from that day's snapshots)."""

    arr: Decimal
    customers: int
    arr_before: Decimal | None  # None: no snapshots that day
    customers_before: int | None
    day_before: dt.date

    @property
    def change(self) -> Decimal | None:
        return None if self.arr_before is None else self.arr - self.arr_before

    @property
    def change_abs(self) -> Decimal | None:
        return None if self.change is None else abs(self.change)


def _before_pass(*, portfolio: Portfolio, day: dt.date) -> tuple[int, int, int]:
    """The snapshots of `day` - 30: how many, how many in red or yellow, and those customers' MRR (cents) in
    force that day. One query."""
    snapshots, customers = q(HealthSnapshot._meta.db_table), q(Customer._meta.db_table)
    scope_sql, scope_params = portfolio.sql("cu.csm_id")
    b = adapt_date(day - dt.timedelta(days=BEFORE_DAYS))
    if portfolio.is_everything:
        source = f"{snapshots} s {mrr_join(everything=True, customer='s.customer_id')} WHERE s.date = %s"
        params = [b, b, b]
    elif connection.vendor == "postgresql":
        # Some books: each customer's snapshot of that day through the (customer, date) unique index.
        fence = f"SELECT s.band FROM {snapshots} s WHERE s.customer_id = cu.id AND s.date = %s OFFSET 0"  # noqa: S608
        lateral = f"CROSS JOIN LATERAL ({fence}) s {mrr_join(everything=False)}"
        source = f"{customers} cu {lateral} WHERE 1 = 1{scope_sql}"
        params = [b, b, b, *scope_params]
    else:
        ledger = mrr_join(everything=False, customer="s.customer_id")
        join = f"JOIN {customers} cu ON cu.id = s.customer_id {ledger}"
        source = f"{snapshots} s {join} WHERE s.date = %s{scope_sql}"
        params = [b, b, b, *scope_params]
    sql = f"""
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE s.band IN ('red', 'yellow')),
               SUM({cents_sql("l.mrr")}) FILTER (WHERE s.band IN ('red', 'yellow'))
        FROM {source}
    """  # noqa: S608
    with reader().cursor() as cursor:
        cursor.execute(sql, params)
        seen, risky, cents = cursor.fetchone()
    return int(seen or 0), int(risky or 0), to_cents(cents)


def _at_risk_of(*, bands: list[BandRow], before: tuple[int, int, int], day: dt.date) -> AtRisk:
    seen, risky, cents = before
    now = [r for r in bands if r.band in AT_RISK]
    return AtRisk(
        arr=sum((r.arr for r in now), Decimal("0.00")),
        customers=sum(r.customers for r in now),
        arr_before=dollars(cents) * 12 if seen else None,
        customers_before=risky if seen else None,
        day_before=day - dt.timedelta(days=BEFORE_DAYS),
    )


def at_risk(*, portfolio: Portfolio, bands: list[BandRow], day: dt.date) -> AtRisk:
    """At-risk ARR now (from `bands`) and 30 days before `day`: snapshots of that day in red or yellow, each
    with the customer's MRR in force that day. One query."""
    return _at_risk_of(bands=bands, before=_before_pass(portfolio=portfolio, day=day), day=day)


# --- Renewals due ---------------------------------------------------------------------------------


def _mrr_on(day: dt.date) -> Subquery:
    latest = MrrEntry.objects.filter(customer=OuterRef("pk"), effective_date__lte=day).order_by(
        "-effective_date"
    )
    return Subquery(latest.values("mrr")[:1])


def _open_runs() -> Subquery:
    runs = (
        Run.objects.filter(customer=OuterRef("pk"), status=RunStatus.OPEN)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(runs[:1])


def renewals_due(
    *, portfolio: Portfolio, today: dt.date, days: int = RENEWAL_WINDOWS[-1]
) -> QuerySet[Customer]:
    """Customers renewing in [today, today + days], soonest first, with health, MRR today and open
    playbooks."""
    return (
        portfolio.customers()
        .filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=days))
        .select_related("csm")
        .annotate(mrr_now=Coalesce(_mrr_on(today), ZERO_MONEY), open_playbooks=Coalesce(_open_runs(), 0))
        .order_by("renewal_date", "name", "pk")
    )


@dataclass(frozen=True)
class RenewalWindow:
    days: int
    customers: int
    arr: Decimal
    at_risk: int  # of them red or yellow


def renewal_windows(*, portfolio: Portfolio, today: dt.date) -> list[RenewalWindow]:
    """Per window of RENEWAL_WINDOWS: customers renewing, their ARR today and how many are at risk
    (one query)."""
    return _window_rows(_portfolio_pass(portfolio=portfolio, day=today))


# --- The week's biggest health drops --------------------------------------------------------------


@dataclass(frozen=True)
class Drop:
    customer: Customer
    moved: list[Movement] = field(default_factory=list)

    @property
    def moved_line(self) -> str:
        return "; ".join(f"{m.sentence} ({m.points})" for m in self.moved)


def biggest_drops(*, portfolio: Portfolio, limit: int = LIST_LIMIT) -> list[Drop]:
    """Customers whose health fell most over 7 days (Customer.health_change_7d), each with the health
    engine's "what moved" (metrics.health.selectors.explain over the two snapshots). Two queries."""
    customers = list(
        portfolio.customers()
        .filter(health_change_7d__lt=0, health_as_of__isnull=False)
        .exclude(lifecycle_stage=LifecycleStage.CHURNED)  # their last drop is history, not this week's news
        .select_related("csm")
        .order_by("health_change_7d", "name", "pk")[:limit]
    )
    if not customers:
        return []
    wanted = Q()
    for c in customers:
        wanted |= Q(customer_id=c.pk, date__in=[c.health_as_of, c.health_as_of - dt.timedelta(days=7)])
    snapshots = {(s.customer_id, s.date): s for s in HealthSnapshot.objects.filter(wanted)}
    drops = []
    for c in customers:
        now = snapshots.get((c.pk, c.health_as_of))
        week_ago = snapshots.get((c.pk, c.health_as_of - dt.timedelta(days=7)))
        moved = explain(now, week_ago, limit=2).moved if now is not None else []
        drops.append(Drop(customer=c, moved=moved))
    return drops


# --- NPS, overdue tasks --------------------------------------------------------------------------


def nps_last_90_days(*, portfolio: Portfolio, today: dt.date) -> SurveyScore:
    """surveys.scores.nps_score over answers of the last 90 days (today included) from the portfolio."""
    responses = Response.objects.filter(
        answered_at__gte=day_start(today - dt.timedelta(days=89)),
        answered_at__lt=day_start(today + dt.timedelta(days=1)),
    )
    if portfolio.csm_ids is not None:
        responses = responses.filter(customer__csm_id__in=portfolio.csm_ids)
    return nps_score(responses)


def overdue_tasks(*, portfolio: Portfolio, today: dt.date) -> QuerySet[Task]:
    """Open tasks of open runs past their due date, assigned within the portfolio, oldest first."""
    tasks = Task.objects.filter(status=TaskStatus.OPEN, run__status=RunStatus.OPEN, due_date__lt=today)
    if portfolio.csm_ids is not None:
        tasks = tasks.filter(assignee_id__in=portfolio.csm_ids)
    return tasks.select_related("run__customer", "run__playbook", "assignee").order_by("due_date", "pk")


def oldest_overdue(*, portfolio: Portfolio, today: dt.date, limit: int = LIST_LIMIT) -> list[Task]:
    """The first `limit` rows of overdue_tasks. The tasks are picked first (tasks and runs only), then joined
    to their customer, playbook and assignee: otherwise PostgreSQL hashes every customer to show ten."""
    first = overdue_tasks(portfolio=portfolio, today=today).values("pk")[:limit]
    tasks = Task.objects.filter(pk__in=Subquery(first))
    return list(tasks.select_related("run__customer", "run__playbook", "assignee").order_by("due_date", "pk"))


# --- The whole home page --------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    portfolio: Portfolio
    today: dt.date
    bands: list[BandRow]
    at_risk: AtRisk
    windows: list[RenewalWindow]
    renewals: list[Customer]
    drops: list[Drop]
    retention: Retention
    nps: SurveyScore
    overdue_count: int
    overdue: list[Task]

    @property
    def customers(self) -> int:
        return sum(r.customers for r in self.bands)

    @property
    def arr(self) -> Decimal:
        return sum((r.arr for r in self.bands), Decimal("0.00"))


def home(*, user: User, today: dt.date | None = None) -> Home:
    """Everything the home dashboard shows for `user`'s portfolio, in a fixed number of queries."""
    portfolio = portfolio_for(user)
    today = today or timezone.localdate()
    with analytic_transaction(cap_parallel_workers=True):
        return _home(portfolio=portfolio, today=today)


def _from_rollup(
    sums: Sums,
) -> tuple[dict[str, tuple[int, int, list[tuple[int, int, int]]]], tuple[int, int, int]]:
    """_portfolio_pass's and _before_pass's answers from the rollup's sums."""
    found: dict[str, tuple[int, int, list[tuple[int, int, int]]]] = {}
    seen = risky = risky_cents = 0
    for band, v in sums.bands.items():
        if v["customers"]:
            windows = []
            for days in RENEWAL_WINDOWS:
                renewing = v[f"renewing_{days}"]
                windows.append((renewing, v[f"renewing_{days}_cents"], renewing if band in AT_RISK else 0))
            found[band] = (v["customers"], v["mrr_cents"], windows)
        seen += v["before"]
        if band in AT_RISK:
            risky, risky_cents = risky + v["before"], risky_cents + v["before_cents"]
    return found, (seen, risky, risky_cents)


def _cohort_of(sums: Sums, today: dt.date) -> Retention:
    start, end = trailing_year(today)
    c = sums.cohort
    cohort = Cohort(
        start=start,
        end=end,
        opening=dollars(c["opening_cents"]),
        customers_start=c["customers_start"],
        retained=c["retained"],
        cohort_closing=dollars(c["cohort_closing_cents"]),
        cohort_floor=dollars(c["cohort_floor_cents"]),
    )
    return Retention(start, end, cohort)


def _home(*, portfolio: Portfolio, today: dt.date) -> Home:
    """The page: bands, renewal windows, at-risk ARR and retention from the rollup when it is built for
    `today` (home_rollup.portfolio_sums), else from the facts; the lists always from the facts."""
    sums = portfolio_sums(portfolio=portfolio, day=today)
    if sums is not None:
        found, before = _from_rollup(sums)
        kept = _cohort_of(sums, today)
    else:
        found = _portfolio_pass(portfolio=portfolio, day=today)  # bands and renewal windows in one scan
        before = _before_pass(portfolio=portfolio, day=today)
        kept = retention(portfolio=portfolio, today=today)
    bands = _band_rows(found)
    return Home(
        portfolio=portfolio,
        today=today,
        bands=bands,
        at_risk=_at_risk_of(bands=bands, before=before, day=today),
        windows=_window_rows(found),
        renewals=list(renewals_due(portfolio=portfolio, today=today)[:LIST_LIMIT]),
        drops=biggest_drops(portfolio=portfolio),
        retention=kept,
        nps=nps_last_90_days(portfolio=portfolio, today=today),
        overdue_count=overdue_tasks(portfolio=portfolio, today=today).count(),
        overdue=oldest_overdue(portfolio=portfolio, today=today),
    )
