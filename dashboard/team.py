"""Team performance (issue 7, docs/api.md `metrics/team`): one row per CSM for a period, and the team total.

Every figure is computed in SQL grouped by the customer's CSM (or a task's assignee), so the page costs the
same handful of queries for 3 CSMs or 300. The rows keep their raw sums (cents, counts, days), and the total
row adds those sums — the union of disjoint books — before taking any ratio: a total is never an average of
the rows' ratios.

The metric engine (metrics.revenue, metrics.renewals, metrics.engagement) answers one scope at a time; the
grouped variants here reuse its definitions: revenue is the engine's sums_sql grouped by CSM (or, for a few
books, a walk classifying ledger rows with the engine's MOVEMENT_SQL and in-force conditions), and its ratio
functions (nrr, grr, arr) run on a RevenueTotals built per group. Tests prove each row equals the engine's
figure for that CSM's book.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Case, Count, F, Q, Sum, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from accounts.models import Customer, Pulse, Touchpoint, TouchpointKind, User
from accounts.visibility import is_signed_in, visible_csms
from core.numbers import quantize_money, ratio
from core.sql import (
    MONEY_FIELD,
    ZERO_MONEY,
    analytic_transaction,
    cents_sql,
    day_start,
    days_between,
    in_list,
)
from metrics import revenue
from metrics.engagement import first_utilization_current_sql, usage_value_sql
from metrics.models import FirstUtilizationDay, MrrEntry, Outcome, Renewal, ValueMilestone
from metrics.revenue import MOVEMENT_SQL, RevenueTotals
from metrics.revenue.ledger import customer_period_sums, in_force_during
from metrics.scope import adapt_date, q
from playbooks.models import RunStatus, Task, TaskStatus

FEW_CSMS = 20  # up to this many books, revenue_by_csm drives from the customers (see there)
DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12: "per month" over periods of any length
PULSE_FRESH_DAYS = 30  # issue 7: share of the book with a pulse fresher than 30 days


# --- Who is on the team ---------------------------------------------------------------------------


def team_csms(*, viewer: User) -> list[User]:
    """The CSMs whose rows `viewer` may see: a manager their teams' CSMs, an admin every active CSM.
    CSMs see no team page (docs/architecture.md#roles-and-permissions "team performance per CSM" is a
    manager's view)."""
    if not is_signed_in(viewer):
        raise PermissionDenied
    return list(visible_csms(viewer).only("pk", "email", "full_name").order_by("full_name", "email"))


# --- Revenue, grouped by CSM ----------------------------------------------------------------------
# The engine's own definitions (metrics.revenue: the ledger's in-force rows and MOVEMENT_SQL, money in exact
# cents from core.sql) keep the grouped figures identical to revenue_totals() to the cent.

_COHORT_SUMS = """
               SUM(CASE WHEN opening > 0 THEN 1 ELSE 0 END) AS n_s,
               SUM(CASE WHEN closing > 0 THEN 1 ELSE 0 END) AS n_e,
               SUM(CASE WHEN opening > 0 AND closing > 0 THEN 1 ELSE 0 END) AS n_se,
               SUM(CASE WHEN opening > 0 THEN closing ELSE 0 END) AS s_closing,
               SUM(CASE WHEN opening > 0 AND closing < opening THEN closing
                        WHEN opening > 0 THEN opening ELSE 0 END) AS s_floor"""


def _walk_sql(csm_ids: Sequence[int], start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """Per customer of the books: opening, closing and movements of its rows in force in [start - 1, end]."""
    ledger, customers = q(MrrEntry._meta.db_table), q(Customer._meta.db_table)
    csm_sql, csm_params = in_list("cu.csm_id", csm_ids)
    s, e = adapt_date(start), adapt_date(end)
    sums, sums_params = customer_period_sums(s, e)
    movement_sums = ", ".join(f"SUM({name})" for name in MOVEMENT_SQL)
    in_window = in_force_during("l")
    if connection.vendor == "postgresql":
        source = f"""FROM {customers} cu CROSS JOIN LATERAL (
                         SELECT * FROM {ledger} l WHERE l.customer_id = cu.id AND {in_window}
                         OFFSET 0) l"""  # noqa: S608 - OFFSET 0: keep the planner from flattening it into a hash
    else:  # SQLite has no LATERAL; its planner walks the customer index on its own
        source = f"FROM {ledger} l JOIN {customers} cu ON cu.id = l.customer_id AND {in_window}"
    sql = f"""
        SELECT csm_id, SUM(opening), SUM(closing), {movement_sums}, {_COHORT_SUMS}
        FROM (
            SELECT customer_id, csm_id,
                   {sums}
            FROM (
                SELECT l.customer_id, cu.csm_id, l.effective_date, l.next_date,
                       {cents_sql("l.mrr")} AS cents, {cents_sql("l.prev_mrr")} AS prev, l.positive_before
                {source}
                WHERE 1 = 1{csm_sql}
            ) l
            GROUP BY customer_id, csm_id
        ) pc
        GROUP BY csm_id
    """  # noqa: S608 - table names and placeholders are ours; values are parameters
    return sql, [*sums_params, e, s, *csm_params]


def _scan_sql(csm_ids: Sequence[int], start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """The engine's own sums (metrics.revenue.sums_sql: one read of the rows in force in the period),
    grouped by each row's copy of its customer's CSM (`book_csm`, kept by the database): no row joins its
    customer."""
    return revenue.sums_sql(
        start=start,
        end=end,
        where=lambda alias: in_list(f"{alias}.book_csm_id", csm_ids),
        group=lambda alias: f"{alias}.book_csm_id",
    )


def revenue_by_csm(
    *, csm_ids: Sequence[int], start: dt.date, end: dt.date, strategy: str = "auto"
) -> dict[int, RevenueTotals]:
    """metrics.revenue.revenue_totals for each CSM's book at once (docs/metrics.md): one query, grouped by
    the customer's CSM. Books without ledger rows in force are absent (all zero).

    Two equivalent plans (tests check both against the engine): "walk" follows a few books' customers into
    the ledger through its (customer, date) index — on PostgreSQL the planner would otherwise hash the whole
    ledger even for one 2,000-customer book; "scan" is the engine's own sums (metrics.revenue.sums_sql: one
    read of the rows in force in the period) grouped by CSM, for many books. "auto" walks up to FEW_CSMS books
    on PostgreSQL."""
    if strategy == "auto":
        strategy = "walk" if connection.vendor == "postgresql" and len(csm_ids) <= FEW_CSMS else "scan"
    sql, params = (_walk_sql if strategy == "walk" else _scan_sql)(csm_ids, start, end)
    # JIT off, as revenue_totals: compiling costs more than it saves.
    with analytic_transaction(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        row[0]: revenue.totals_from_sums(row[1:], start=start, end=end, label=f"CSM {row[0]} ")
        for row in rows
    }


def add_totals(parts: Sequence[RevenueTotals], *, start: dt.date, end: dt.date) -> RevenueTotals:
    """The totals of the union of disjoint books: every sum adds (ratios are taken afterwards)."""

    def total(name: str) -> Any:
        return sum((getattr(p, name) for p in parts), Decimal("0.00") if name not in _COUNTS else 0)

    return RevenueTotals(start=start, end=end, **{f.name: total(f.name) for f in fields(RevenueTotals)[2:]})


_COUNTS = {"customers_start", "customers_end", "retained"}


# --- Renewals, grouped by CSM ---------------------------------------------------------------------


def renewals_by_csm(*, csm_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Any]]:
    """The sums behind metrics.renewals.renewal_metrics (docs/metrics.md "Renewals") for each CSM's book, one
    query: renewed_arr counts as arr_due when a renewal renewed without an amount, 0 when it churned."""
    decided = Q(outcome__in=[Outcome.RENEWED, Outcome.CHURNED])
    renewed_arr = Case(
        When(outcome=Outcome.RENEWED, then=Coalesce(F("renewed_arr"), F("arr_due"))),
        default=ZERO_MONEY,
        output_field=MONEY_FIELD,
    )
    rows = (
        Renewal.objects.filter(due_date__gte=start, due_date__lte=end, book_csm_id__in=list(csm_ids))
        .values("book_csm_id")
        .annotate(
            due=Count("pk"),
            renewed=Count("pk", filter=Q(outcome=Outcome.RENEWED)),
            churned=Count("pk", filter=Q(outcome=Outcome.CHURNED)),
            decided_due=Sum("arr_due", filter=decided),
            gross=Sum(Least(renewed_arr, F("arr_due"), output_field=MONEY_FIELD), filter=decided),
            net=Sum(renewed_arr, filter=decided),
        )
        .order_by()
    )
    return {
        r["book_csm_id"]: {
            "renewals_due": r["due"],
            "renewed": r["renewed"],
            "churned": r["churned"],
            "renewal_arr_decided": quantize_money(r["decided_due"]),
            "renewal_arr_gross": quantize_money(r["gross"]),
            "renewal_arr_net": quantize_money(r["net"]),
        }
        for r in rows
    }


# --- Time to value and days to onboard of the customers started in the period, grouped by CSM -----


def onboarding_by_csm(
    *, csm_ids: Sequence[int], start: dt.date, end: dt.date, as_of: dt.date
) -> dict[int, dict[str, int]]:
    """For customers whose contract started in [start, end]: how many, Σ and count of time to value (as of
    `as_of`) and of days to onboard, per CSM, in one statement.

    docs/metrics.md: time_to_value_days = first day license utilization reached 10 % (or a CSM-logged
    first-value
    milestone, whichever is earlier) - contract_start; days_to_onboard = go_live_date - contract_start.
    The first-10 % day is metrics.engagement.first_utilization_day for every customer at once: the stored
    answer (metrics.models.FirstUtilizationDay) where it is current — `day` if day <= as_of, else none — and
    the engine's own walk (metrics.engagement.usage_value_sql) for the others."""
    customers = q(Customer._meta.db_table)
    stored = q(FirstUtilizationDay._meta.db_table)
    milestones = q(ValueMilestone._meta.db_table)
    csm_sql, csm_params = in_list("c.csm_id", csm_ids)
    s, e, a = adapt_date(start), adapt_date(end), adapt_date(as_of)
    walk_sql, walk_params = usage_value_sql(customers="walk_cs", as_of=as_of)
    sql = f"""
        WITH cs AS (
            SELECT c.id, c.csm_id, c.licenses, c.contract_start, c.go_live_date, (c.licenses + 9) / 10 AS k,
                   f.day AS stored_day,
                   CASE WHEN {first_utilization_current_sql("f", "c")} THEN 1 ELSE 0 END AS is_current
            FROM {customers} c
            -- Only a row with the customer's contract start (in the period) can be current; saying so in the
            -- join lets PostgreSQL join on both columns and skip the other rows' start dates.
            LEFT JOIN {stored} f ON f.customer_id = c.id AND f.contract_start = c.contract_start
                                AND f.contract_start >= %s AND f.contract_start <= %s
            WHERE c.contract_start >= %s AND c.contract_start <= %s{csm_sql}
        ),
        walk_cs AS (SELECT * FROM cs WHERE is_current = 0),
        {walk_sql},
        first_usage AS (
            SELECT id AS customer_id, stored_day AS day FROM cs WHERE is_current = 1 AND stored_day <= %s
            UNION ALL
            SELECT customer_id, day FROM usage_value
        ),
        milestone AS (
            SELECT m.customer_id, MIN(m.achieved_on) AS day
            FROM {milestones} m JOIN cs ON cs.id = m.customer_id
            WHERE m.achieved_on <= %s GROUP BY m.customer_id
        ),
        per_customer AS (
            SELECT cs.csm_id, cs.contract_start, cs.go_live_date,
                   CASE WHEN uv.day IS NULL THEN ms.day WHEN ms.day IS NULL THEN uv.day
                        WHEN uv.day < ms.day THEN uv.day ELSE ms.day END AS first_value
            FROM cs LEFT JOIN first_usage uv ON uv.customer_id = cs.id
                    LEFT JOIN milestone ms ON ms.customer_id = cs.id
        )
        SELECT csm_id, COUNT(*),
               SUM({days_between("first_value", "contract_start")}),
               COUNT(first_value),
               SUM({days_between("go_live_date", "contract_start")}),
               COUNT(go_live_date)
        FROM per_customer GROUP BY csm_id
    """  # noqa: S608
    params = [s, e, s, e, *csm_params, *walk_params, a, a]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        r[0]: {
            "started": int(r[1]),
            "ttv_days_sum": int(r[2] or 0),
            "ttv_customers": int(r[3] or 0),
            "onboard_days_sum": int(r[4] or 0),
            "onboarded_customers": int(r[5] or 0),
        }
        for r in rows
    }


# --- Book, activity and tasks, grouped by CSM -----------------------------------------------------


def books_by_csm(*, csm_ids: Sequence[int], as_of: dt.date) -> dict[int, dict[str, int]]:
    """Book size and how many customers have a pulse fresher than 30 days as of `as_of` (logged on one of the
    30 days ending that day), one query: the customers counted per CSM (from the CSM index alone), and the
    distinct customers of the fresh pulses per the pulse's copy of its customer's CSM (`book_csm`)."""
    customers, pulses = q(Customer._meta.db_table), q(Pulse._meta.db_table)
    in_books, params = in_list("csm_id", csm_ids)
    fresh_books, fresh_params = in_list("book_csm_id", csm_ids)
    sql = f"""
        SELECT csm_id, COUNT(*), 0 FROM {customers} WHERE 1 = 1{in_books} GROUP BY csm_id
        UNION ALL
        SELECT book_csm_id, 0, COUNT(*) FROM (
            SELECT DISTINCT book_csm_id, customer_id FROM {pulses}
            WHERE created_at >= %s AND created_at < %s{fresh_books}
        ) fresh GROUP BY book_csm_id
    """  # noqa: S608 - table names and placeholders are ours; values are parameters
    since, until = (
        connection.ops.adapt_datetimefield_value(day_start(day))  # UTC on SQLite, as the ORM stores it
        for day in (as_of - dt.timedelta(days=PULSE_FRESH_DAYS - 1), as_of + dt.timedelta(days=1))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, since, until, *fresh_params])
        rows = cursor.fetchall()
    out: dict[int, dict[str, int]] = {}
    for csm_id, book_size, fresh_customers in rows:
        row = out.setdefault(csm_id, {"book_size": 0, "fresh_pulse_customers": 0})
        row["book_size"] += int(book_size)
        row["fresh_pulse_customers"] += int(fresh_customers)
    return out


def touchpoints_by_csm(*, csm_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, dict[str, int]]:
    """Touchpoints on each CSM's customers in the period (days in TIME_ZONE), and the advocacy ones."""
    rows = (
        Touchpoint.objects.filter(
            book_csm_id__in=list(csm_ids),
            occurred_at__gte=day_start(start),
            occurred_at__lt=day_start(end + dt.timedelta(days=1)),
        )
        .values("book_csm_id")
        .annotate(touchpoints=Count("pk"), advocacy=Count("pk", filter=Q(kind=TouchpointKind.ADVOCACY)))
        .order_by()
    )
    return {
        r["book_csm_id"]: {"touchpoints": r["touchpoints"], "advocacy_touchpoints": r["advocacy"]}
        for r in rows
    }


def tasks_by_csm(
    *, csm_ids: Sequence[int], start: dt.date, end: dt.date, today: dt.date
) -> dict[int, dict[str, int]]:
    """Playbook tasks assigned to each CSM and due in the period: done on or before the due date (in
    TIME_ZONE), done late, and still open past their due date; plus the open and overdue tasks of today."""
    due = Q(due_date__gte=start, due_date__lte=end)
    open_now = Q(status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
    rows = (
        Task.objects.filter(assignee_id__in=list(csm_ids))
        .values("assignee_id")
        .annotate(
            tasks_on_time=Count(
                "pk", filter=due & Q(status=TaskStatus.DONE, completed_at__date__lte=F("due_date"))
            ),
            tasks_late=Count(
                "pk", filter=due & Q(status=TaskStatus.DONE, completed_at__date__gt=F("due_date"))
            ),
            tasks_overdue=Count("pk", filter=due & open_now & Q(due_date__lt=today)),
            open_tasks=Count("pk", filter=open_now),
            overdue_tasks=Count("pk", filter=open_now & Q(due_date__lt=today)),
        )
        .order_by()
    )
    return {r.pop("assignee_id"): r for r in rows}


# --- The rows -------------------------------------------------------------------------------------

_INT_PARTS = (
    "book_size",
    "fresh_pulse_customers",
    "touchpoints",
    "advocacy_touchpoints",
    "renewals_due",
    "renewed",
    "churned",
    "started",
    "ttv_days_sum",
    "ttv_customers",
    "onboard_days_sum",
    "onboarded_customers",
    "tasks_on_time",
    "tasks_late",
    "tasks_overdue",
    "open_tasks",
    "overdue_tasks",
)
_MONEY_PARTS = ("renewal_arr_decided", "renewal_arr_gross", "renewal_arr_net")


@dataclass
class TeamRow:
    """One CSM's figures (csm None: the team total). Raw sums are kept; every rate is a property."""

    csm: User | None
    revenue: RevenueTotals
    days: int
    parts: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        parts = self.__dict__.get("parts", {})
        if name in _INT_PARTS:
            return parts.get(name, 0)
        if name in _MONEY_PARTS:
            return parts.get(name, Decimal("0.00"))
        raise AttributeError(name)

    @property
    def is_total(self) -> bool:
        return self.csm is None

    @property
    def arr(self) -> Decimal:
        return revenue.arr(self.revenue)

    @property
    def nrr(self) -> Decimal | None:
        return revenue.nrr(self.revenue)

    @property
    def grr(self) -> Decimal | None:
        return revenue.grr(self.revenue)

    @property
    def expansion_mrr(self) -> Decimal:
        return self.revenue.expansion

    @property
    def logo_renewal_rate(self) -> Decimal | None:
        return ratio(self.renewed, self.renewed + self.churned)

    @property
    def gross_renewal_rate(self) -> Decimal | None:
        return ratio(self.renewal_arr_gross, self.renewal_arr_decided)

    @property
    def net_renewal_rate(self) -> Decimal | None:
        return ratio(self.renewal_arr_net, self.renewal_arr_decided)

    @property
    def avg_time_to_value_days(self) -> Decimal | None:
        return ratio(self.ttv_days_sum, self.ttv_customers)

    @property
    def avg_days_to_onboard(self) -> Decimal | None:
        return ratio(self.onboard_days_sum, self.onboarded_customers)

    @property
    def touchpoints_per_customer_month(self) -> Decimal | None:
        months = Decimal(self.days) / DAYS_PER_MONTH
        return ratio(self.touchpoints, self.book_size * months) if self.book_size else None

    @property
    def fresh_pulse_share(self) -> Decimal | None:
        return ratio(self.fresh_pulse_customers, self.book_size)

    @property
    def tasks_on_time_rate(self) -> Decimal | None:
        """Of the tasks due in the period that are done or past due: the share done on time."""
        return ratio(self.tasks_on_time, self.tasks_on_time + self.tasks_late + self.tasks_overdue)


@dataclass(frozen=True)
class TeamPerformance:
    start: dt.date
    end: dt.date
    as_of: dt.date
    rows: list[TeamRow]
    total: TeamRow


def team_performance(
    *, viewer: User, start: dt.date, end: dt.date, today: dt.date | None = None
) -> TeamPerformance:
    """One row per CSM `viewer` may see (team_csms) for [start, end], and the total over their books.
    Point-in-time figures (ARR, fresh pulses, time to value) are as of the period's end, or today if
    the period has not ended. A fixed number of queries, whatever the number of CSMs or customers."""
    csms = team_csms(viewer=viewer)
    today = today or timezone.localdate()
    as_of = min(end, today)
    ids = [u.pk for u in csms]
    with analytic_transaction(cap_parallel_workers=True):
        money = revenue_by_csm(csm_ids=ids, start=start, end=as_of)
        grouped = [
            books_by_csm(csm_ids=ids, as_of=as_of),
            touchpoints_by_csm(csm_ids=ids, start=start, end=end),
            renewals_by_csm(csm_ids=ids, start=start, end=end),
            onboarding_by_csm(csm_ids=ids, start=start, end=end, as_of=as_of),
            tasks_by_csm(csm_ids=ids, start=start, end=end, today=today),
        ]
    empty = revenue.totals_from_cents(start=start, end=as_of, money=[0] * 7, counts=[0] * 3, cohort=[0] * 2)
    days = (end - start).days + 1
    rows = []
    for user in csms:
        parts: dict[str, Any] = {}
        for source in grouped:
            parts.update(source.get(user.pk, {}))
        rows.append(TeamRow(csm=user, revenue=money.get(user.pk, empty), days=days, parts=parts))
    total_parts: dict[str, Any] = {}
    for name in _INT_PARTS:
        total_parts[name] = sum(getattr(r, name) for r in rows)
    for name in _MONEY_PARTS:
        total_parts[name] = sum((getattr(r, name) for r in rows), Decimal("0.00"))
    total = TeamRow(
        csm=None,
        revenue=add_totals([r.revenue for r in rows], start=start, end=as_of),
        days=days,
        parts=total_parts,
    )
    return TeamPerformance(start=start, end=end, as_of=as_of, rows=rows, total=total)


# --- Sorting and the API/CSV shape ----------------------------------------------------------------

# ?sort= keys of the team table: column key → row attribute.
TEAM_SORTS: dict[str, str] = {
    "csm": "csm_name",
    "book": "book_size",
    "arr": "arr",
    "nrr": "nrr",
    "grr": "grr",
    "logo": "logo_renewal_rate",
    "gross": "gross_renewal_rate",
    "net": "net_renewal_rate",
    "expansion": "expansion_mrr",
    "ttv": "avg_time_to_value_days",
    "onboard": "avg_days_to_onboard",
    "touch": "touchpoints_per_customer_month",
    "advocacy": "advocacy_touchpoints",
    "pulse": "fresh_pulse_share",
    "ontime": "tasks_on_time_rate",
    "overdue": "overdue_tasks",
}
TEAM_DEFAULT_SORT = "csm"
# The columns' names, for the "Sort by" control (on a phone the stacked table has no header to click).
TEAM_SORT_LABELS: dict[str, str] = {
    "csm": "CSM",
    "book": "Book size",
    "arr": "ARR",
    "nrr": "NRR",
    "grr": "GRR",
    "logo": "Logo renewal rate",
    "gross": "Gross renewal rate",
    "net": "Net renewal rate",
    "expansion": "Expansion MRR",
    "ttv": "Time to value",
    "onboard": "Days to onboard",
    "touch": "Touches per customer per month",
    "advocacy": "Advocacy touchpoints",
    "pulse": "Fresh pulse share",
    "ontime": "Tasks on time",
    "overdue": "Overdue tasks",
}


def sort_choices() -> list[tuple[str, str]]:
    """(?sort= value, label) for every column both ways; the CSM name reads A to Z, figures lowest/highest."""
    choices = []
    for key, label in TEAM_SORT_LABELS.items():
        if key == "csm":
            choices += [(key, f"{label}, A to Z"), (f"-{key}", f"{label}, Z to A")]
        else:
            choices += [(f"-{key}", f"{label}, highest first"), (key, f"{label}, lowest first")]
    return choices


def sort_rows(rows: list[TeamRow], sort: str) -> list[TeamRow]:
    """Sort by a TEAM_SORTS key ("-key" descending); empty values (null rates) always last."""
    key = sort.lstrip("-")
    attr = TEAM_SORTS.get(key, TEAM_SORTS[TEAM_DEFAULT_SORT])
    descending = sort.startswith("-")

    def value(row: TeamRow) -> Any:
        if attr == "csm_name":
            return row.csm.get_full_name().lower() if row.csm else ""
        return getattr(row, attr)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=value, reverse=descending)
    return present + missing


def _rate(value: Decimal | None) -> float | None:
    """Rates are decimal fractions rounded to 4 places (docs/api.md); null stays null."""
    return None if value is None else float(round(value, 4))


def _days(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 1))


def row_data(row: TeamRow) -> dict[str, Any]:
    """A row as the API answers it and the CSV export writes it (the same keys, in this order)."""
    return {
        "csm_id": row.csm.pk if row.csm else None,
        "csm_email": row.csm.email if row.csm else None,
        "csm_name": row.csm.get_full_name() if row.csm else "TOTAL",
        "book_size": row.book_size,
        "arr": str(quantize_money(row.arr)),
        "nrr": _rate(row.nrr),
        "grr": _rate(row.grr),
        "renewals_due": row.renewals_due,
        "logo_renewal_rate": _rate(row.logo_renewal_rate),
        "gross_renewal_rate": _rate(row.gross_renewal_rate),
        "net_renewal_rate": _rate(row.net_renewal_rate),
        "expansion_mrr": str(quantize_money(row.expansion_mrr)),
        "customers_started": row.started,
        "avg_time_to_value_days": _days(row.avg_time_to_value_days),
        "avg_days_to_onboard": _days(row.avg_days_to_onboard),
        "touchpoints": row.touchpoints,
        "touchpoints_per_customer_month": _rate(row.touchpoints_per_customer_month),
        "advocacy_touchpoints": row.advocacy_touchpoints,
        "fresh_pulse_share": _rate(row.fresh_pulse_share),
        "tasks_on_time": row.tasks_on_time,
        "tasks_late": row.tasks_late,
        "tasks_overdue": row.tasks_overdue,
        "tasks_on_time_rate": _rate(row.tasks_on_time_rate),
        "open_tasks": row.open_tasks,
        "overdue_tasks": row.overdue_tasks,
    }


def team_csv_columns() -> list[tuple[str, Any]]:
    """CSV columns over row_data() dicts: one per key."""
    keys = list(
        row_data(
            TeamRow(
                csm=None,
                revenue=revenue.totals_from_cents(
                    start=dt.date.min, end=dt.date.min, money=[0] * 7, counts=[0] * 3, cohort=[0] * 2
                ),
                days=1,
            )
        )
    )
    return [(key, itemgetter(key)) for key in keys]
