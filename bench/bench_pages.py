"""Page speed at scale, on PostgreSQL (issue 7): home dashboard, the Book, the customer page, the team page.

Creates (drops and recreates) a dedicated database, `cshub_bench_pages` by default, on the server of
DATABASE_URL, fills it with `INSERT … SELECT generate_series` statements — 100,000 customers (2,000 of them
in one CSM's book), 100 CSMs in 10 teams, a 3-row MRR ledger per customer, health snapshots (today, 7 and 30
days ago, every month end), renewals, touchpoints, pulses, NPS answers, usage for new customers, playbook
runs and tasks — then times each page through Django's test Client, in process (full middleware, templates,
PostgreSQL; no network hop, so the figures are server time): 50 requests after 3 warm-ups, median and p95,
and the query count of every request (it must not vary).

Targets: median ≤ 300 ms and p95 ≤ 600 ms for each page.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py pages
Env: BENCH_PAGES_DB (database name), BENCH_PAGES_REUSE=1 (keep an existing filled database), BENCH_REQUESTS,
BENCH_PAGES_ROLLUP=0 (no rollups: the home and team pages read the facts), BENCH_PAGES_TEAM_ROLLUP=0 (no
team rollup: the team page and API read the facts), BENCH_PAGES_ONLY (comma-separated words: only the pages
whose label contains one, e.g. "team,trends").
"""

# ruff: noqa: S608, S106, E501 - generated SQL with our own table names; a throwaway benchmark database
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_database, setup_django  # noqa: E402

CUSTOMERS = 100_000
BIG_BOOK = 2_000
CSMS = 100
TEAMS = 10
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "50"))
WARMUP = 3
TARGET_MEDIAN_MS = 300
TARGET_P95_MS = 600


def _sql(statement: str, params: list | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)  # no params: % is a plain modulo


def _step(label: str, fn) -> None:
    t0 = time.perf_counter()
    fn()
    print(f"  {label:<58} {time.perf_counter() - t0:6.1f} s", flush=True)


def generate() -> None:
    """The benchmark company. Deterministic: every value derives from the row number."""
    from django.utils import timezone

    from accounts.models import Customer, Pulse, Role, Team, Touchpoint, User
    from metrics.health.services import health_model_current
    from metrics.models import HealthSnapshot, MrrEntry, Renewal, UsageUserDay
    from metrics.services import mrr_ledger_relink
    from playbooks.models import Playbook, Run, Task
    from surveys.models import Response

    print(f"Generating {CUSTOMERS:,} customers ({BIG_BOOK:,} in one book) …", flush=True)
    User.objects.create_user("admin@bench.example", "bench", role=Role.ADMIN, full_name="Bench Admin")
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
        team = Team.objects.create(name=f"Team {t}", manager=manager)
        team.members.add(*csms[t * (CSMS // TEAMS) : (t + 1) * (CSMS // TEAMS)])
    big, others = csms[0].pk, [u.pk for u in csms[1:]]
    today = timezone.localdate()
    c = Customer._meta.db_table

    def customers() -> None:
        # Row i: the first BIG_BOOK customers are csm0's; the others spread over the other 99 CSMs.
        _sql(
            f"""
            INSERT INTO {c} (external_id, name, segment, csm_id, licenses, contract_start, go_live_date,
                             renewal_date, lifecycle_stage, health_score, health_band, health_change_7d,
                             health_as_of, created_at, updated_at)
            SELECT 'BP-' || lpad(i::text, 6, '0'), 'Bench customer ' || i,
                   (ARRAY['SMB', 'Mid-Market', 'Enterprise'])[1 + i %% 3],
                   CASE WHEN i <= %s THEN %s ELSE (%s::int[])[1 + i %% 99] END,
                   10 + i %% 90,
                   %s::date - (i %% 1000),
                   CASE WHEN i %% 4 = 0 THEN NULL ELSE %s::date - (i %% 1000) + 20 + i %% 40 END,
                   %s::date + (i %% 400) - 20,
                   (ARRAY['onboarding', 'adopting', 'mature', 'at_renewal'])[1 + i %% 4],
                   CASE WHEN i %% 17 = 0 THEN NULL ELSE (i * 37) %% 100 END,
                   CASE WHEN i %% 17 = 0 THEN '' WHEN (i * 37) %% 100 >= 70 THEN 'green'
                        WHEN (i * 37) %% 100 >= 40 THEN 'yellow' ELSE 'red' END,
                   CASE WHEN i %% 17 = 0 THEN NULL ELSE (i %% 31) - 18 END,
                   %s::date, now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [BIG_BOOK, big, others, today, today, today, today, CUSTOMERS],
        )

    _step("customers", customers)
    ledger = MrrEntry._meta.db_table

    def mrr() -> None:
        _sql(
            f"""
            INSERT INTO {ledger} (customer_id, effective_date, mrr, created_at, updated_at)
            SELECT id, %s::date - 700 + (id %% 30)::int, 50 + (id * 13) %% 900, now(), now() FROM {c}
            UNION ALL
            SELECT id, %s::date - 300 + (id %% 200)::int, 50 + (id * 17) %% 1100, now(), now() FROM {c} WHERE id %% 3 <> 0
            UNION ALL
            SELECT id, %s::date - 90 + (id %% 80)::int, CASE WHEN id %% 11 = 0 THEN 0 ELSE 40 + (id * 19) %% 1300 END,
                   now(), now()
            FROM {c} WHERE id %% 2 = 0
            """,
            [today, today, today],
        )
        mrr_ledger_relink()

    _step("MRR ledger (~2.2 rows per customer) + relink", mrr)
    model = health_model_current()
    snapshots = HealthSnapshot._meta.db_table
    month_ends = []
    first = today.replace(day=1)
    for _ in range(11):
        month_ends.append(first - dt.timedelta(days=1))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    days = sorted({today, today - dt.timedelta(days=7), today - dt.timedelta(days=30), *month_ends})

    def health() -> None:
        for n, day in enumerate(days):
            _sql(
                f"""
                INSERT INTO {snapshots} (customer_id, date, score, band, model_id, components, computed_at)
                SELECT id, %s, s, CASE WHEN s >= 70 THEN 'green' WHEN s >= 40 THEN 'yellow' ELSE 'red' END, %s,
                       jsonb_build_array(jsonb_build_object('factor', 'pulse', 'raw_value', 1 + s / 25,
                           'score', s, 'weight', 100, 'contribution', s)),
                       now()
                FROM (SELECT id, ((id * 37 + %s * 7) %% 100) AS s FROM {c}) x
                """,
                [day, model.pk, n if day != today else 0],
            )

    _step(f"health snapshots ({len(days)} days x {CUSTOMERS:,})", health)
    renewals = Renewal._meta.db_table

    def renewal_rows() -> None:
        _sql(
            f"""
            INSERT INTO {renewals} (customer_id, due_date, arr_due, outcome, renewed_arr, updated_at)
            SELECT id, %s::date - (id %% 365)::int, 12 * (100 + id %% 900),
                   CASE WHEN id %% 10 = 0 THEN 'churned' WHEN id %% 10 = 1 THEN 'pending' ELSE 'renewed' END,
                   CASE WHEN id %% 10 IN (0, 1) THEN NULL ELSE 12 * (100 + id %% 900) + (id %% 7 - 3) * 120 END,
                   now()
            FROM {c}
            """,
            [today],
        )

    _step("renewals (1 per customer, trailing year)", renewal_rows)
    touchpoints, pulses = Touchpoint._meta.db_table, Pulse._meta.db_table

    def activity() -> None:
        _sql(
            f"""
            INSERT INTO {touchpoints} (customer_id, author_id, kind, occurred_at, sentiment, summary, created_at)
            SELECT id, csm_id, (ARRAY['call', 'email', 'meeting', 'advocacy', 'qbr'])[1 + (id + k) % 5],
                   now() - ((id * 7 + k * 41) % 200) * interval '1 day', 'neutral', 'Bench touchpoint', now()
            FROM {c}, generate_series(1, 3) AS k
            """
        )
        _sql(
            f"""
            INSERT INTO {pulses} (customer_id, author_id, score, note, created_at)
            SELECT id, csm_id, 1 + id % 5, '', now() - (id % 90) * interval '1 day' FROM {c}
            """
        )

    _step("touchpoints (3 per customer) and pulses", activity)
    responses = Response._meta.db_table

    def answers() -> None:
        _sql(
            f"""
            INSERT INTO {responses} (customer_id, contact_email, kind, score, comment, answered_at)
            SELECT id, 'contact' || id || '@bench.example', 'nps', id % 11, '', now() - (id % 180) * interval '1 day'
            FROM {c} WHERE id % 2 = 0
            """
        )

    _step("NPS answers (half the customers)", answers)
    usage = UsageUserDay._meta.db_table

    def usage_rows() -> None:
        _sql(
            f"""
            INSERT INTO {usage} (customer_id, day, user_id, events)
            SELECT id, contract_start + d * 3 + u, 'u' || u, 1
            FROM {c}, generate_series(0, 9) AS d, generate_series(0, 4) AS u
            WHERE contract_start >= %s::date - 400
            ON CONFLICT DO NOTHING
            """,
            [today],
        )

    _step("usage user-days of customers started in the last 400 days", usage_rows)
    playbook = Playbook.objects.create(name="Bench rescue")
    runs, tasks = Run._meta.db_table, Task._meta.db_table

    def work() -> None:
        _sql(
            f"""
            INSERT INTO {runs} (playbook_id, customer_id, assignee_id, reason, key, reason_values, status,
                                outcome_note, started_at)
            SELECT %s, id, csm_id, 'Bench', '', '{{}}'::jsonb, 'open', '', now() - (id %% 60) * interval '1 day'
            FROM {c} WHERE id %% 20 = 0
            """,
            [playbook.pk],
        )
        _sql(
            f"""
            INSERT INTO {tasks} ("order", title, guidance, required_touchpoint_kind, assignee_id, due_date,
                                 status, note, completed_at, run_id)
            SELECT k, 'Bench task ' || k, '', '', r.assignee_id, %s::date - (r.id %% 40)::int + k * 7,
                   CASE WHEN k = 1 THEN 'done' ELSE 'open' END, '',
                   CASE WHEN k = 1 THEN now() - (r.id %% 40) * interval '1 day' END, r.id
            FROM {runs} r, generate_series(1, 3) AS k
            """,
            [today],
        )

    _step("playbook runs (5 % of customers) with 3 tasks each", work)

    def analyze() -> None:
        for model_cls in (
            Customer,
            MrrEntry,
            HealthSnapshot,
            Renewal,
            Touchpoint,
            Pulse,
            Response,
            UsageUserDay,
            Run,
            Task,
        ):
            _sql(f"VACUUM ANALYZE {model_cls._meta.db_table}")

    _step("VACUUM ANALYZE", analyze)


def _measure(client, url: str) -> tuple[list[float], list[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        assert client.get(url).status_code == 200, url
    times, counts = [], []
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(ctx.captured_queries))
    return times, counts


def main() -> int:
    url, reused = open_database(
        script="bench_pages",
        default_name="cshub_bench_pages",
        db_env="BENCH_PAGES_DB",
        reuse_env="BENCH_PAGES_REUSE",
    )
    setup_django(url)
    from django.test import Client

    from accounts.models import Customer, User
    from accounts.visibility import editable_customers

    if not reused:
        generate()
    from django.db import connection

    from metrics.services import first_utilization_refresh

    # What the 15-minute beat job keeps up to date (a no-op on a reused database already refreshed).
    _step("stored first 10 % utilization days (the refresh job)", first_utilization_refresh)
    # Its first run inserts then updates every row; autovacuum would clean up after it on a live server.
    _sql("VACUUM ANALYZE metrics_firstutilizationday")
    from dashboard.models import HomeRollup, HomeRollupBook, HomeRollupMark, TeamRollup
    from dashboard.services import home_rollup_refresh

    # The home rollup of today as the every-minute beat job leaves it (docs/architecture.md#dashboard-rollups);
    # BENCH_PAGES_ROLLUP=0 drops it, to measure the home page's fact path.
    HomeRollup.objects.all().delete()
    HomeRollupBook.objects.all().delete()
    HomeRollupMark.objects.all().delete()
    TeamRollup.objects.all().delete()
    rollup = os.environ.get("BENCH_PAGES_ROLLUP", "1") == "1"
    if rollup:
        _step("home and team rollups, every book (a day's first refresh)", home_rollup_refresh)
        if os.environ.get("BENCH_PAGES_TEAM_ROLLUP", "1") != "1":
            TeamRollup.objects.all().delete()  # the team page and API read the facts
    # The seed's writes left every mark it made deleted by the refresh; autovacuum would clean up after it on a
    # live server (the pages read the marks through their index).
    _sql("VACUUM ANALYZE dashboard_homerollupmark")
    _sql("VACUUM ANALYZE dashboard_teamrollup")

    big = User.objects.get(email="csm0@bench.example")
    manager = User.objects.get(email="manager0@bench.example")
    admin = User.objects.get(email="admin@bench.example")
    customer = Customer.objects.filter(csm=big).order_by("pk").first()
    print(
        f"\nData: {Customer.objects.count():,} customers; {Customer.objects.filter(csm=big).count():,} in "
        f"{big.email}'s book; manager0's teams: {editable_customers(manager).count():,} customers."
    )
    print(f"PostgreSQL {connection.pg_version}; Django test Client in process ({REQUESTS} requests each).\n")
    cases = [
        ("home (admin, all 100,000 customers)", admin, "/"),
        ("home (manager, 10 CSMs)", manager, "/"),
        ("home (CSM, 2,000-customer book)", big, "/"),
        ("Book (CSM, 2,000-customer book)", big, "/book/"),
        ("Book (admin, that CSM's book, sorted by health)", admin, f"/book/?csm={big.pk}&sort=health"),
        ("customer page (in the 2,000 book)", big, customer.get_absolute_url()),
        ("team page (manager, 10 CSMs, this quarter)", manager, "/team/"),
        ("team page (admin, 100 CSMs, this quarter)", admin, "/team/"),
        (
            "team page (admin, 100 CSMs, last year)",
            admin,
            "/team/?period=" + str(time.localtime().tm_year - 1),
        ),
        (
            "team API (admin, 100 CSMs, one year)",
            admin,
            "/api/v1/metrics/team/?start=2025-01-01&end=2025-12-31",
        ),
        ("trends (admin; loaded after home by htmx)", admin, "/trends/"),
    ]
    only = [w for w in os.environ.get("BENCH_PAGES_ONLY", "").split(",") if w]
    if only:
        cases = [case for case in cases if any(w in case[0] for w in only)]
    print(f"{'page':<52} {'median':>8} {'p95':>8} {'queries':>8}  target")
    failed = False
    for label, user, path in cases:
        client = Client()
        client.force_login(user)
        times, counts = _measure(client, path)
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        constant = min(counts) == max(counts)
        targeted = not label.startswith(("trends", "team API"))
        ok = median <= TARGET_MEDIAN_MS and p95 <= TARGET_P95_MS
        failed |= targeted and not (ok and constant)
        mark = ("ok" if ok else "SLOW") if targeted else "(no target)"
        queries = f"{counts[0]}" if constant else f"{min(counts)}-{max(counts)}!"
        print(f"{label:<52} {median:7.0f}ms {p95:7.0f}ms {queries:>8}  {mark}", flush=True)
    if rollup:
        # Between two refreshes: one ~1,000-customer book changed (marked), read from its facts.
        changed = User.objects.get(email="csm1@bench.example")
        HomeRollupMark.objects.create(csm_key=changed.pk)
        client = Client()
        client.force_login(admin)
        times, counts = _measure(client, "/")
        HomeRollupMark.objects.all().delete()
        label = "home (admin, one 1,000-customer book changed)"
        median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
        print(f"{label:<52} {median:7.0f}ms {p95:7.0f}ms {counts[0]:>8}  (no target)", flush=True)
        HomeRollupMark.objects.create(csm_key=changed.pk)
        times, counts = _measure(client, "/team/")
        HomeRollupMark.objects.all().delete()
        label = "team page (admin, one 1,000-customer book changed)"
        median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
        print(f"{label:<52} {median:7.0f}ms {p95:7.0f}ms {counts[0]:>8}  (no target)", flush=True)
    print("\nTargets: median ≤ 300 ms and p95 ≤ 600 ms (server time), constant query count.")
    return 1 if failed else 0


if __name__ == "__main__":
    # bench/run.py runs every bench in one process: report, don't exit.
    if main():
        print("bench_pages: at least one page missed its target (see above)")
