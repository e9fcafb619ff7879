"""The CSM's workspace at scale, on PostgreSQL (issue 19, docs/workspace.md): the Book opened through a saved
view, and the top bar's unread notification count.

Creates (drops and recreates) its own database, `cshub_bench_book_views` by default (BENCH_DB), on the server
of DATABASE_URL and fills it with `INSERT … SELECT generate_series`: 100,000 customers (2,000 in one CSM's
book), 100 CSMs in 10 teams, 3 touchpoints and 1 pulse per customer, 500,000 notifications (5,000 of them the
measured CSM's, 300 unread), saved views. Then, through Django's test Client in process (full middleware,
templates, PostgreSQL; server time, no network):

- the Book with a saved view applied, for the CSM of the big book, their manager and an admin: median and
  p95 of BENCH_REQUESTS requests after 3 warm-ups, and the query count (it must not vary). Target ≤ 150 ms.
- the unread count (accounts.notifications.unread_count) called directly: median and p95 of 500 calls, one
  query on the partial index `notification_unread` (its plan is printed). Target ≤ 5 ms.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py book_views
Env: BENCH_DB (database name), BENCH_REQUESTS (default 30).
"""

# ruff: noqa: S608, S106, E501 - generated SQL with our own table names; a throwaway benchmark database
from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database, setup_django  # noqa: E402

CUSTOMERS = 100_000
BIG_BOOK = 2_000
CSMS = 100
TEAMS = 10
NOTIFICATIONS = 500_000
MINE = 5_000
MINE_UNREAD = 300
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
WARMUP = 3
BOOK_TARGET_MS = 150
COUNT_TARGET_MS = 5


def _sql(statement: str, params: list | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)


def _step(label: str, fn) -> None:
    t0 = time.perf_counter()
    fn()
    print(f"  {label:<52} {time.perf_counter() - t0:6.1f} s", flush=True)


def generate() -> dict:
    from django.utils import timezone

    from accounts.models import Customer, Notification, Pulse, Role, SavedView, Team, Touchpoint, User

    print(f"Generating {CUSTOMERS:,} customers ({BIG_BOOK:,} in one book) …", flush=True)
    admin = User.objects.create_user("admin@bench.example", "bench", role=Role.ADMIN, full_name="Bench Admin")
    managers = [
        User.objects.create_user(
            f"manager{t}@bench.example", "bench", role=Role.MANAGER, full_name=f"Manager {t}"
        )
        for t in range(TEAMS)
    ]
    csms = User.objects.bulk_create(
        User(email=f"csm{i}@bench.example", full_name=f"CSM {i:03d}", role=Role.CSM, password="!")
        for i in range(CSMS)
    )
    for t, manager in enumerate(managers):
        Team.objects.create(name=f"Team {t}", manager=manager).members.add(
            *csms[t * (CSMS // TEAMS) : (t + 1) * (CSMS // TEAMS)]
        )
    big, others = csms[0], [u.pk for u in csms[1:]]
    today = timezone.localdate()
    c, tp, pu = Customer._meta.db_table, Touchpoint._meta.db_table, Pulse._meta.db_table
    n = Notification._meta.db_table

    def customers() -> None:
        _sql(
            f"""
            INSERT INTO {c} (external_id, name, segment, csm_id, licenses, renewal_date, lifecycle_stage,
                             health_score, health_band, health_change_7d, health_as_of, created_at, updated_at)
            SELECT 'BW-' || lpad(i::text, 6, '0'), 'Bench customer ' || i,
                   (ARRAY['SMB', 'Mid-Market', 'Enterprise'])[1 + i %% 3],
                   CASE WHEN i <= %s THEN %s ELSE (%s::int[])[1 + i %% 99] END,
                   10 + i %% 90, %s::date + (i %% 400) - 20,
                   (ARRAY['onboarding', 'adopting', 'mature', 'at_renewal'])[1 + i %% 4],
                   (i * 37) %% 100,
                   CASE WHEN (i * 37) %% 100 >= 70 THEN 'green' WHEN (i * 37) %% 100 >= 40 THEN 'yellow' ELSE 'red' END,
                   (i %% 31) - 18, %s::date, now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [BIG_BOOK, big.pk, others, today, today, CUSTOMERS],
        )

    def activity() -> None:
        _sql(
            f"""
            INSERT INTO {tp} (customer_id, author_id, kind, occurred_at, sentiment, summary, created_at)
            SELECT id, csm_id, (ARRAY['call', 'email', 'meeting'])[1 + (id + k) % 3],
                   now() - ((id * 7 + k * 41) % 200) * interval '1 day', 'neutral', 'Bench touchpoint', now()
            FROM {c}, generate_series(1, 3) AS k
            """
        )
        _sql(
            f"""
            INSERT INTO {pu} (customer_id, author_id, score, note, created_at)
            SELECT id, csm_id, 1 + id % 5, '', now() - (id % 90) * interval '1 day' FROM {c}
            """
        )

    def notifications() -> None:
        # The measured CSM's MINE rows (MINE_UNREAD unread), the rest spread over everyone else.
        users = [u.pk for u in csms[1:]] + [m.pk for m in managers] + [admin.pk]
        _sql(
            f"""
            INSERT INTO {n} (user_id, kind, customer_id, title, url, created_at, read_at, emailed_at)
            SELECT CASE WHEN i <= %s THEN %s ELSE (%s::int[])[1 + i %% %s] END,
                   (ARRAY['assigned', 'turned_red', 'survey_answered', 'mentioned'])[1 + i %% 4],
                   1 + i %% %s, 'Bench notification ' || i, '/book/',
                   now() - (i %% 10000) * interval '1 minute',
                   CASE WHEN i <= %s AND i > %s THEN now() WHEN i > %s AND i %% 10 <> 0 THEN now() ELSE NULL END,
                   now()
            FROM generate_series(1, %s) AS i
            """,
            [MINE, big.pk, users, len(users), CUSTOMERS, MINE, MINE_UNREAD, MINE, NOTIFICATIONS],
        )

    _step("customers", customers)
    _step("touchpoints (3 per customer) and pulses (1)", activity)
    _step(f"notifications ({NOTIFICATIONS:,})", notifications)
    team0 = managers[0]
    # Shared by the manager of team 0 (so the CSM sees it too), and a few private ones each.
    SavedView.objects.create(
        owner=team0, name="Red, renewing in 90 days", query="renewal=90&band=red&sort=-health", shared=True
    )
    for user in (big, team0, admin):
        for k in range(5):
            SavedView.objects.create(
                owner=user, name=f"View {k}", query=f"segment=SMB&stage=adopting&sort=renewal&q={k}"
            )
    _sql("ANALYZE")
    return {"csm": big, "manager": team0, "admin": admin}


def time_book(label: str, user, query: str) -> tuple[float, float]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    url = f"/book/?{query}"
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200
    times, counts = [], set()
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
        counts.add(len(ctx.captured_queries))
    found = re.search(r"<strong>([\d,]+)</strong> customer", response.content.decode())
    total = int(found.group(1).replace(",", "")) if found else -1
    median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    print(
        f"  Book via saved view, {label:<8} {total:>6,} rows: median {median:6.1f} ms  p95 {p95:6.1f} ms  "
        f"queries {sorted(counts)}  (target ≤ {BOOK_TARGET_MS} ms)",
        flush=True,
    )
    return median, p95


def time_count(user) -> tuple[float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.notifications import unread_count

    times = []
    for _ in range(20):
        unread_count(user)
    for _ in range(500):
        t0 = time.perf_counter()
        value = unread_count(user)
        times.append((time.perf_counter() - t0) * 1000)
    assert value == MINE_UNREAD, value
    with CaptureQueriesContext(connection) as ctx:
        unread_count(user)
    (query,) = ctx.captured_queries  # one query, whatever the data
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {query['sql']}")
        plan = " | ".join(r[0].strip() for r in cursor.fetchall()[:4])
    median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    print(
        f"  Unread count ({value} of {MINE:,} own, {NOTIFICATIONS:,} rows): median {median:5.2f} ms  p95 {p95:5.2f} ms"
        f"  (target ≤ {COUNT_TARGET_MS} ms)\n    plan: {plan}",
        flush=True,
    )
    return median, p95


def main() -> int:
    url = recreate_database(script="bench_book_views", default_name="cshub_bench_book_views")
    setup_django(url)
    people = generate()
    from accounts.saved_views import saved_views_for

    view = next(v for v in saved_views_for(people["csm"]) if v.shared)
    print(f"Saved view “{view.name}” ({view.query}), shared by {view.owner}:", flush=True)
    worst = 0.0
    for label, user in people.items():
        median, _ = time_book(label, user, view.query)
        worst = max(worst, median)
    count_median, _ = time_count(people["csm"])
    ok = worst <= BOOK_TARGET_MS and count_median <= COUNT_TARGET_MS
    print(
        f"Book worst median {worst:.1f} ms / {BOOK_TARGET_MS} ms; count median {count_median:.2f} ms / {COUNT_TARGET_MS} ms: {'OK' if ok else 'OVER TARGET'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
