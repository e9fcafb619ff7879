"""Engagement metrics of one customer as of a day, from the UsageDaily rollup (docs/metrics.md
"Engagement")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Min

from accounts.models import Customer
from core.db import reader
from core.numbers import ratio
from core.sql import date_plus_days, days_between

from .models import KeyFeature, UsageDaily, UsageUserDay, ValueMilestone
from .scope import adapt_date, q

WINDOW_DAYS = 30  # a user is active on D if it has an event in [D - 29, D]
TTV_UTILIZATION = Decimal("0.10")  # time to value: first day license utilization reached 10 %


@dataclass(frozen=True)
class EngagementMetrics:
    """The `GET /api/v1/metrics/engagement/` answer (docs/api.md)."""

    customer: Customer
    as_of: dt.date
    licenses: int
    users_total: int
    active_users_30d: int
    license_utilization: Decimal | None
    product_adoption_rate: Decimal | None
    dau_mau: Decimal | None
    feature_adoption: dict[str, Decimal | None] = field(default_factory=dict)
    feature_users: dict[str, int] = field(default_factory=dict)
    key_features: tuple[str, ...] = ()
    time_to_value_days: int | None = None
    first_value_on: dt.date | None = None
    days_to_onboard: int | None = None


def window_start(as_of: dt.date) -> dt.date:
    return as_of - dt.timedelta(days=WINDOW_DAYS - 1)


def _user_counts(customer_id: int, as_of: dt.date) -> tuple[int, int, int]:
    """(users ever seen up to as_of, active users in the window, Σ over the window's days of distinct daily
    users), in one statement over the user-day rollup (index-only scans of (customer, day, user_id))."""
    table = q(UsageUserDay._meta.db_table)
    sql = f"""
        SELECT
            (SELECT COUNT(*) FROM (SELECT DISTINCT user_id FROM {table}
                                   WHERE customer_id = %s AND day <= %s) t),
            (SELECT COUNT(*) FROM (SELECT DISTINCT user_id FROM {table}
                                   WHERE customer_id = %s AND day >= %s AND day <= %s) a),
            (SELECT COUNT(*) FROM {table} WHERE customer_id = %s AND day >= %s AND day <= %s)
    """  # noqa: S608
    lo, hi = adapt_date(window_start(as_of)), adapt_date(as_of)
    with reader().cursor() as cursor:
        cursor.execute(sql, [customer_id, hi, customer_id, lo, hi, customer_id, lo, hi])
        total, active, user_days = cursor.fetchone()
    return int(total or 0), int(active or 0), int(user_days or 0)


def _feature_users(customer_id: int, as_of: dt.date) -> dict[str, int]:
    """Distinct users of each feature in the window (DISTINCT then GROUP BY: a hash, not a sort per group)."""
    table = q(UsageDaily._meta.db_table)
    sql = f"""
        SELECT feature, COUNT(*) FROM (
            SELECT DISTINCT feature, user_id FROM {table} WHERE customer_id = %s AND day >= %s AND day <= %s
        ) f GROUP BY feature
    """  # noqa: S608
    with reader().cursor() as cursor:
        cursor.execute(sql, [customer_id, adapt_date(window_start(as_of)), adapt_date(as_of)])
        return {feature: int(n) for feature, n in cursor.fetchall()}


def first_utilization_day(
    *, customer: Customer, as_of: dt.date, share: Decimal = TTV_UTILIZATION
) -> dt.date | None:
    """docs/metrics.md time to value: first day in [contract_start, as_of] with active users ÷ licenses ≥ 10
    %.

    Each user is active on the 30 days from each day it used the product; SQL merges those into intervals per
    user (LAG/LEAD over its active days) and answers +1 at each interval's start and -1 the day after its end,
    grouped by day. A running sum over those few change days is the active-user count on every day.
    """
    if not customer.licenses or customer.contract_start is None:
        return None
    threshold = share * customer.licenses
    table = q(UsageUserDay._meta.db_table)
    gap_before = days_between("day", "prev_day")
    gap_after = days_between("next_day", "day")
    sql = f"""
        WITH ud AS (SELECT user_id, day FROM {table} WHERE customer_id = %s AND day >= %s AND day <= %s),
        g AS (
            SELECT user_id, day,
                   LAG(day) OVER (PARTITION BY user_id ORDER BY day) AS prev_day,
                   LEAD(day) OVER (PARTITION BY user_id ORDER BY day) AS next_day
            FROM ud
        ),
        changes AS (
            SELECT day AS change_day, 1 AS delta
            FROM g WHERE prev_day IS NULL OR {gap_before} >= {WINDOW_DAYS}
            UNION ALL
            SELECT {date_plus_days("day", WINDOW_DAYS)} AS change_day, -1 AS delta
            FROM g WHERE next_day IS NULL OR {gap_after} >= {WINDOW_DAYS}
        )
        SELECT change_day, SUM(delta) FROM changes GROUP BY change_day ORDER BY change_day
    """  # noqa: S608
    with reader().cursor() as cursor:
        # Usage more than 29 days before the contract start cannot make anyone active on or after it.
        earliest = customer.contract_start - dt.timedelta(days=WINDOW_DAYS - 1)
        cursor.execute(sql, [customer.pk, adapt_date(earliest), adapt_date(as_of)])
        changes = cursor.fetchall()
    running = 0
    for i, (day, delta) in enumerate(changes):
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        running += int(delta)
        if running < threshold:
            continue
        until = changes[i + 1][0] if i + 1 < len(changes) else None
        until = until if until is None or isinstance(until, dt.date) else dt.date.fromisoformat(until)
        reached = max(day, customer.contract_start)
        if reached <= as_of and (until is None or reached < until):
            return reached
    return None


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if connection.vendor == "postgresql" else f"MAX({a}, {b})"


def first_utilization_current_sql(row: str, customer: str) -> str:
    """SQL: the FirstUtilizationDay row (alias `row`) is current for the customer (alias `customer`) and its
    day may be read — computed for the latest usage, with the customer's licenses and contract start. Never
    null for an existing row (a missing one, from a LEFT JOIN, is not current)."""
    return (
        f"{row}.computed_version = {row}.version AND {row}.licenses = {customer}.licenses"
        f" AND ({row}.contract_start = {customer}.contract_start"
        f" OR ({row}.contract_start IS NULL AND {customer}.contract_start IS NULL))"
    )


def usage_value_sql(*, customers: str, as_of: dt.date | None) -> tuple[str, list[Any]]:
    """first_utilization_day for many customers in one statement: CTEs to follow `WITH <customers> AS (…)`,
    a relation of (id, licenses, contract_start, k = ceil(licenses / 10)), ending in usage_value(customer_id,
    day) — each customer's first day D >= contract_start (and <= as_of, if given) on which k users were
    active (used the product in [D - 29, D]); customers that never got there have no row. Two steps:

    - Quick answer. Before the day the k-th user first used the product (F_k, from each user's first day)
      fewer than k users can be active, so D >= X = max(F_k, contract_start). When k users were active on X
      itself (counted directly over [X - 29, X]), D = X. That is every customer whose first k users did not
      lapse before X, and it needs no sort by user.
    - The others take the exact walk: each user is active for the 30 days from each day it used the product;
      merging those into intervals (LAG/LEAD) gives +1/-1 changes, and a running SUM per customer is its
      active-user count on every change day (as first_utilization_day does for one customer).

    Each customer's usage is read through the (customer, day, user) index, one customer at a time on
    PostgreSQL (LATERAL): a handful of customers costs a handful of index reads, whatever the table holds."""
    usage = q(UsageUserDay._meta.db_table)
    bound, params = ("", []) if as_of is None else (" AND {} <= %s", [adapt_date(as_of)])
    reached = _greatest("r.change_day", "w.contract_start")
    x = _greatest("f.first_day", "w.contract_start")
    lower = date_plus_days("w.contract_start", -(WINDOW_DAYS - 1))
    if connection.vendor == "postgresql":
        # OFFSET 0 keeps the planner from flattening the lookup into a hash join over the whole table.
        ud = f"""SELECT w.id AS customer_id, u.user_id, u.day FROM {customers} w CROSS JOIN LATERAL (
                     SELECT user_id, day FROM {usage} u
                     WHERE u.customer_id = w.id AND u.day >= {lower}{bound.format("u.day")} OFFSET 0) u
                 WHERE w.licenses > 0"""  # noqa: S608
    else:
        ud = f"""SELECT u.customer_id, u.user_id, u.day
                 FROM {customers} w JOIN {usage} u ON u.customer_id = w.id
                 WHERE w.licenses > 0 AND u.day >= {lower}{bound.format("u.day")}"""  # noqa: S608
    sql = f"""
        ud AS ({ud}),
        firsts AS (
            SELECT customer_id, MIN(day) AS first_day FROM ud GROUP BY customer_id, user_id
        ),
        kth AS (
            SELECT f.customer_id, {x} AS x, w.k
            FROM (SELECT customer_id, first_day,
                         ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY first_day) AS rn
                  FROM firsts) f
            JOIN {customers} w ON w.id = f.customer_id
            WHERE f.rn = w.k{bound.format(x)}
        ),
        checked AS (
            SELECT kth.customer_id, kth.x, kth.k, COUNT(DISTINCT ud.user_id) AS n
            FROM kth LEFT JOIN ud ON ud.customer_id = kth.customer_id
                                 AND ud.day >= {date_plus_days("kth.x", -(WINDOW_DAYS - 1))}
                                 AND ud.day <= kth.x
            GROUP BY kth.customer_id, kth.x, kth.k
        ),
        g AS (
            SELECT ud.customer_id, ud.day,
                   LAG(ud.day) OVER (PARTITION BY ud.customer_id, ud.user_id ORDER BY ud.day) AS prev_day,
                   LEAD(ud.day) OVER (PARTITION BY ud.customer_id, ud.user_id ORDER BY ud.day) AS next_day
            FROM ud JOIN checked ON checked.customer_id = ud.customer_id AND checked.n < checked.k
        ),
        changes AS (
            SELECT customer_id, day AS change_day, 1 AS delta FROM g
            WHERE prev_day IS NULL OR {days_between("day", "prev_day")} >= {WINDOW_DAYS}
            UNION ALL
            SELECT customer_id, {date_plus_days("day", WINDOW_DAYS)} AS change_day, -1 AS delta FROM g
            WHERE next_day IS NULL OR {days_between("next_day", "day")} >= {WINDOW_DAYS}
        ),
        daily AS (
            SELECT customer_id, change_day, SUM(delta) AS delta FROM changes GROUP BY customer_id, change_day
        ),
        r AS (
            SELECT customer_id, change_day,
                   SUM(delta) OVER (PARTITION BY customer_id ORDER BY change_day) AS active,
                   LEAD(change_day) OVER (PARTITION BY customer_id ORDER BY change_day) AS until_day
            FROM daily
        ),
        usage_value AS (
            SELECT customer_id, x AS day FROM checked WHERE n >= k
            UNION ALL
            SELECT r.customer_id, MIN({reached}) AS day
            FROM r JOIN {customers} w ON w.id = r.customer_id
            WHERE r.active * 10 >= w.licenses{bound.format(reached)}
              AND (r.until_day IS NULL OR {reached} < r.until_day)
            GROUP BY r.customer_id
        )"""  # noqa: S608 - table names are ours; values are parameters
    return sql, params * 3


def engagement_metrics(*, customer: Customer, as_of: dt.date) -> EngagementMetrics:
    """Every engagement metric of docs/metrics.md for one customer as of `as_of` (a fixed number of
    queries)."""
    users_total, active, user_days = _user_counts(customer.pk, as_of)
    feature_users = _feature_users(customer.pk, as_of)
    key_features = tuple(KeyFeature.objects.values_list("name", flat=True))
    for name in key_features:
        feature_users.setdefault(name, 0)
    feature_adoption = {
        f: ratio(n, users_total) for f, n in sorted(feature_users.items(), key=lambda kv: (-kv[1], kv[0]))
    }
    milestone = (
        ValueMilestone.objects.filter(customer=customer, achieved_on__lte=as_of)
        .aggregate(first=Min("achieved_on"))
        .get("first")
    )
    usage_day = first_utilization_day(customer=customer, as_of=as_of)
    candidates = [d for d in (usage_day, milestone) if d is not None]
    first_value = min(candidates) if candidates else None
    ttv = None
    if first_value is not None and customer.contract_start is not None:
        ttv = (first_value - customer.contract_start).days
    onboard = None
    if customer.go_live_date is not None and customer.contract_start is not None:
        onboard = (customer.go_live_date - customer.contract_start).days
    return EngagementMetrics(
        customer=customer,
        as_of=as_of,
        licenses=customer.licenses,
        users_total=users_total,
        active_users_30d=active,
        license_utilization=ratio(active, customer.licenses),
        product_adoption_rate=ratio(active, users_total),
        # docs/metrics.md: mean over the 30 days of distinct daily users ÷ active users.
        dau_mau=ratio(user_days, WINDOW_DAYS * active),
        feature_adoption=feature_adoption,
        feature_users=feature_users,
        key_features=key_features,
        time_to_value_days=ttv,
        first_value_on=first_value,
        days_to_onboard=onboard,
    )
