"""Activity per CSM for the team page: time to value and days to onboard of the customers started in the
period, book size and fresh pulses, touchpoints, and playbook tasks — each one query grouped by CSM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection
from django.db.models import Count, F, Q

from accounts.models import Customer, Pulse, Touchpoint, TouchpointKind
from core.db import reader
from core.sql import day_start, days_between, in_list
from metrics.engagement import first_utilization_current_sql, usage_value_sql
from metrics.models import FirstUtilizationDay, ValueMilestone
from metrics.scope import adapt_date, q
from playbooks.models import RunStatus, Task, TaskStatus

PULSE_FRESH_DAYS = 30  # issue 7: share of the book with a pulse fresher than 30 days

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
    with reader().cursor() as cursor:
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
    with reader().cursor() as cursor:
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
        # Counts of columns of the (book, occurred_at) INCLUDE (kind) index (kind is never null), not of the
        # key: PostgreSQL answers from the index alone (dashboard migration 0003).
        .annotate(touchpoints=Count("*"), advocacy=Count("kind", filter=Q(kind=TouchpointKind.ADVOCACY)))
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
