"""Metric engine and ingestion at scale, on PostgreSQL (issue 3's speed targets).

Creates (drops and recreates) a dedicated database, `cshub_bench` by default, on the server of DATABASE_URL,
fills it with COPY-free `INSERT … SELECT generate_series` statements, and times the real endpoints through
Django's test client (in process: full middleware, DRF, JSON, PostgreSQL; no network hop):

- revenue for a 12-month period over 100,000 customers / 1,000,000 ledger rows      target ≤ 2 s
- usage-event ingestion, batches of 10,000 through POST /api/v1/usage-events/       target ≥ 20,000 events/s
- engagement for one customer with 1,000,000 events in its 30-day window           target ≤ 200 ms

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py metrics
Env: BENCH_DB (database name), BENCH_CUSTOMERS (100000), BENCH_LEDGER_PER_CUSTOMER (10), BENCH_ONLY,
BENCH_REUSE=1 (keep a database an earlier run filled: the revenue part then measures without seeding again),
BENCH_REPEAT (timed requests per revenue figure, default 3; the figures are the median and p95),
BENCH_REVENUE_ROLLUP=0 (read the ledger, as before the revenue rollup; default: build the rollup and read it),
BENCH_REVENUE_PAGE=0 (skip the Revenue page: 13 periods, long on the ledger at 1,000,000 customers),
BENCH_REVENUE_CHECK=1 (check that the rollup's figures equal the ledger's, untimed).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_database, setup_django  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "100000"))
PER_CUSTOMER = int(os.environ.get("BENCH_LEDGER_PER_CUSTOMER", "10"))
ENGAGEMENT_EVENTS = 1_000_000
INGEST_BATCHES = int(os.environ.get("BENCH_INGEST_BATCHES", "20"))
# BENCH_ONLY=revenue,ingestion,engagement (default: all three)
ONLY = set(os.environ.get("BENCH_ONLY", "revenue,ingestion,engagement").split(","))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
ROLLUP = os.environ.get("BENCH_REVENUE_ROLLUP", "1") != "0"
PAGE = os.environ.get("BENCH_REVENUE_PAGE", "1") != "0"


def _timed(label: str, fn, *, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _timings(fn, *, repeat: int) -> tuple[float, float]:
    """Median and p95 (nearest rank) of `repeat` timed calls, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[max(0, -(-95 * len(times) // 100) - 1)]


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def cpu_seconds() -> float:
    """CPU used so far by this process and by its PostgreSQL backend: unlike wall time, it does not grow when
    other work shares the machine, so `work / cpu` says what an otherwise idle machine would do."""
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return time.process_time() + backend


def _sql(statement: str, params: list | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def generate_ledger() -> float:
    t0 = time.perf_counter()
    from accounts.models import Customer

    # The ORM, not raw SQL, for customers: it fills whatever fields Customer gains (defaults included).
    segments = ["Enterprise", "Mid-Market", "SMB"]
    Customer.objects.bulk_create(
        (
            Customer(
                external_id=f"B-{g:06d}", name=f"Bench customer {g}", segment=segments[g % 3], licenses=50
            )
            for g in range(1, CUSTOMERS + 1)
        ),
        batch_size=5000,
    )
    # PER_CUSTOMER changes per customer from 2023 to late 2024: growth, contractions, churn (0) and comebacks.
    _sql(
        """
        INSERT INTO metrics_mrrentry (customer_id, effective_date, mrr, created_at, updated_at)
        SELECT c.id, DATE '2023-01-01' + (k * (700 / %s) + c.id %% 60)::int,
               CASE WHEN (c.id * 7 + k * 13) %% 29 = 0 THEN 0
                    ELSE round((40 + (c.id * 31 + k * 17) %% 960)::numeric + 0.99, 2) END,
               now(), now()
        FROM accounts_customer c CROSS JOIN generate_series(0, %s - 1) k
        WHERE c.external_id LIKE 'B-%%'
        """,
        [PER_CUSTOMER, PER_CUSTOMER],
    )
    from metrics.services import mrr_ledger_relink

    mrr_ledger_relink()  # what every writer does after writing ledger rows
    _sql("VACUUM ANALYZE metrics_mrrentry")
    _sql("VACUUM ANALYZE accounts_customer")
    return time.perf_counter() - t0


def generate_engagement_customer(as_of: str) -> float:
    """1,000,000 events in the 30 days up to as_of: 1,000 users, each using 3 of 10 features."""
    t0 = time.perf_counter()
    import datetime as dt

    from accounts.models import Customer

    day = dt.date.fromisoformat(as_of)
    Customer.objects.create(
        external_id="B-ENGAGE",
        name="Bench engagement",
        segment="Enterprise",
        licenses=1500,
        contract_start=day - dt.timedelta(days=200),
        go_live_date=day - dt.timedelta(days=150),
    )
    _sql(
        """
        INSERT INTO metrics_usageevent (event_id, customer_id, user_id, feature, occurred_at, quantity)
        SELECT 'eng-' || g, c.id, 'user-' || (g %% 1000),
               'feature-' || (((g %% 1000) + (g / 30000) %% 3) %% 10),
               (DATE %s - ((g / 1000) %% 30))::timestamp + make_interval(secs => g %% 86000), 1
        FROM accounts_customer c, generate_series(1, %s) g WHERE c.external_id = 'B-ENGAGE'
        """,
        [as_of, ENGAGEMENT_EVENTS],
    )
    # The rollup exactly as ingestion maintains it (TIME_ZONE is UTC in the benchmark).
    _sql(
        """
        INSERT INTO metrics_usagedaily (customer_id, day, user_id, feature, events, quantity)
        SELECT customer_id, (occurred_at AT TIME ZONE 'UTC')::date, user_id, feature, count(*), sum(quantity)
        FROM metrics_usageevent WHERE event_id LIKE 'eng-%%' GROUP BY 1, 2, 3, 4
        """
    )
    _sql(
        """
        INSERT INTO metrics_usageuserday (customer_id, day, user_id, events)
        SELECT customer_id, day, user_id, sum(events) FROM metrics_usagedaily
        WHERE customer_id = (SELECT id FROM accounts_customer WHERE external_id = 'B-ENGAGE') GROUP BY 1, 2, 3
        """
    )
    # What autovacuum does on a live system; without it PostgreSQL cannot use index-only scans yet.
    _sql("VACUUM ANALYZE metrics_usageevent")
    _sql("VACUUM ANALYZE metrics_usagedaily")
    _sql("VACUUM ANALYZE metrics_usageuserday")
    return time.perf_counter() - t0


def main() -> None:
    # Only the revenue part can be measured again on a kept database (the others insert fixed identifiers).
    url, reused = open_database(
        script="bench_metrics",
        default_name="cshub_bench",
        reuse_env="BENCH_REUSE" if {"revenue"} == ONLY else "",
    )
    setup_django(url)
    from django.test import Client

    from accounts.models import Customer, Role, User
    from metrics.models import MrrEntry, UsageDaily

    admin, _ = User.objects.get_or_create(email="bench@example.com", defaults={"role": Role.ADMIN})
    client = Client()
    client.force_login(admin)
    results: list[tuple[str, str, str, bool]] = []

    # --- revenue -----------------------------------------------------------------------------------------
    if "revenue" in ONLY:
        if reused and MrrEntry.objects.exists():
            print("ledger: kept from an earlier run (BENCH_REUSE=1)")
        else:
            setup = generate_ledger()
            print(f"ledger generated in {setup:.1f} s")
        n_customers = Customer.objects.count()
        n_rows = MrrEntry.objects.count()
        print(f"ledger: {n_customers:,} customers, {n_rows:,} ledger rows; load at start {_load()}")
        from metrics.models import RevenueRollupMark, RevenueRollupState
        from metrics.revenue import revenue_rollup_refresh

        if not ROLLUP:
            RevenueRollupState.objects.all().delete()  # readers take the ledger; the next build starts over
        elif not RevenueRollupState.objects.exists():
            t0 = time.perf_counter()
            revenue_rollup_refresh()
            print(f"  revenue rollup built (every customer) in {time.perf_counter() - t0:.1f} s")
            # What autovacuum does on a live system: the generation's marks (one per customer and statement)
            # were deleted by the build and would otherwise be scanned by every reader's look at the marks.
            for table in (
                "metrics_revenuerollupmark",
                "metrics_revenuerollupcustomer",
                "metrics_revenuerollupcell",
            ):
                _sql(f"VACUUM ANALYZE {table}")
        else:
            revenue_rollup_refresh()
        print(f"  reading the {'rollup' if ROLLUP else 'ledger'}")
        revenue_url = "/api/v1/metrics/revenue/?start=2024-01-01&end=2024-12-31"
        first = client.get(revenue_url)
        assert first.status_code == 200, first.content
        median, p95 = _timings(lambda: client.get(revenue_url), repeat=REPEAT)
        body = first.json()
        print(
            f"  revenue 2024: mrr_start {body['mrr_start']} mrr_end {body['mrr_end']} nrr {body['nrr']} "
            f"grr {body['grr']} new {body['new_mrr']} churned {body['churned_mrr']}"
        )
        label = (
            f"revenue API, 12 months, {n_customers:,} customers / {n_rows:,} rows (median / p95 of {REPEAT})"
        )
        results.append((label, f"{median:.3f} / {p95:.3f} s", "<= 0.3 s", p95 <= 0.3))
        median, p95 = _timings(lambda: client.get(revenue_url + "&segment=SMB"), repeat=REPEAT)
        results.append(
            ("  same, one segment (1/3 of customers)", f"{median:.3f} / {p95:.3f} s", "(info)", True)
        )
        # The Revenue page: the year's figures and its 12 calendar months.
        if PAGE:
            page_url = "/revenue/?whose=all&period=custom&start=2024-01-01&end=2024-12-31"
            assert client.get(page_url).status_code == 200
            median, p95 = _timings(lambda: client.get(page_url), repeat=REPEAT)
            results.append(
                ("  Revenue page, the year and its 12 months", f"{median:.3f} / {p95:.3f} s", "(info)", True)
            )
        if ROLLUP and os.environ.get("BENCH_REVENUE_CHECK") == "1":
            # The rollup's figures are the ledger's to the cent: the year, a segment's year, the 12 months.
            import datetime as dt

            from metrics.revenue import add_months, ledger_totals, rollup_totals
            from metrics.scope import Scope

            year = [(dt.date(2024, 1, 1), dt.date(2024, 12, 31), Scope(), "2024")]
            year.append((*year[0][:2], Scope(segment="SMB"), "2024, SMB"))
            months = [
                (add_months(dt.date(2024, 1, 1), i), add_months(dt.date(2024, 1, 1), i + 1) - dt.timedelta(1))
                for i in range(12)
            ]
            for start, end, scope, label in [*year, *[(a, b, Scope(), f"{a:%Y-%m}") for a, b in months]]:
                rolled = rollup_totals(scope=scope, start=start, end=end)
                assert rolled is not None, label
                assert rolled == ledger_totals(scope=scope, start=start, end=end), label
            print("  rollup = ledger to the cent: 2024, 2024 for SMB, each month of 2024")
        if ROLLUP:
            # 1,000 customers' latest ledger rows change: they are read from the ledger until the refresh.
            _sql(
                """UPDATE metrics_mrrentry SET mrr = mrr + 1 WHERE next_date IS NULL AND customer_id IN (
                       SELECT id FROM accounts_customer WHERE external_id LIKE 'B-%%'
                       ORDER BY id LIMIT 1000)"""
            )
            marked = RevenueRollupMark.objects.values("customer_id").distinct().count()
            median, p95 = _timings(lambda: client.get(revenue_url), repeat=REPEAT)
            label = f"  same, {marked:,} customers changed since the refresh"
            results.append((label, f"{median:.3f} / {p95:.3f} s", "(info)", True))
            t0 = time.perf_counter()
            revenue_rollup_refresh()
            results.append(
                (
                    f"  refresh of those {marked:,} customers",
                    f"{time.perf_counter() - t0:.3f} s",
                    "(info)",
                    True,
                )
            )
        print(f"  load at end {_load()}")

    # --- ingestion ---------------------------------------------------------------------------------------
    if "ingestion" in ONLY:
        Customer.objects.create(external_id="B-INGEST", name="Bench ingest", licenses=500)

        def batch(b: int, days: int) -> str:
            # An integration's batch: 10,000 events of 500 users on 8 features over `days` day(s).
            return json.dumps(
                [
                    {
                        "event_id": f"ing-{days}-{b}-{i}",
                        "customer": "B-INGEST",
                        "user_id": f"user-{(i * 7) % 500}",
                        "feature": f"feature-{i % 8}",
                        "occurred_at": f"2024-03-{1 + (b + i % days) % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                        "quantity": 1 + i % 3,
                    }
                    for i in range(10_000)
                ]
            )

        def ingest(payloads: list[str], expect: str) -> float:
            t0, cpu0 = time.perf_counter(), cpu_seconds()
            for payload in payloads:
                response = client.post("/api/v1/usage-events/", payload, content_type="application/json")
                assert response.status_code == 200, response.content[:300]
                assert response.json()[expect] == 10_000, response.content[:300]
            events = len(payloads) * 10_000
            cpu = cpu_seconds() - cpu0
            print(
                f"  {expect}: {events:,} events, CPU (Django + PostgreSQL backend) {cpu:.2f} s"
                f" = {events / cpu:,.0f} events per CPU-second"
            )
            return events / (time.perf_counter() - t0)

        daily = [batch(b, 1) for b in range(INGEST_BATCHES)]
        rate = ingest(daily, "accepted")
        label = f"usage-event ingestion, {INGEST_BATCHES} x 10,000 new events (1 day each)"
        results.append((label, f"{rate:,.0f} events/s", ">= 20,000/s", rate >= 20_000))
        spread = [batch(b, 28) for b in range(5)]
        spread_rate = ingest(spread, "accepted")
        results.append(
            (
                "  5 batches spread over 28 days (more rollup rows)",
                f"{spread_rate:,.0f} events/s",
                "(info)",
                True,
            )
        )
        dup_rate = ingest(daily[:5], "duplicates")
        results.append(
            ("  re-posting 5 batches (all duplicates)", f"{dup_rate:,.0f} events/s", "(info)", True)
        )

    # --- engagement --------------------------------------------------------------------------------------
    if "engagement" in ONLY:
        as_of = "2024-06-30"
        setup = generate_engagement_customer(as_of)
        rollup_rows = UsageDaily.objects.filter(customer__external_id="B-ENGAGE").count()
        print(f"engagement: 1,000,000 events ({rollup_rows:,} rollup rows) generated in {setup:.1f} s")
        engagement_url = f"/api/v1/metrics/engagement/?customer=B-ENGAGE&as_of={as_of}"
        first = client.get(engagement_url)
        assert first.status_code == 200, first.content
        body = first.json()
        print(
            f"  engagement: active {body['active_users_30d']} of {body['users_total']}, "
            f"dau/mau {body['dau_mau']}, ttv {body['time_to_value_days']} days"
        )
        cpu0 = cpu_seconds()
        seconds = _timed("engagement", lambda: client.get(engagement_url), repeat=5)
        per_request = (cpu_seconds() - cpu0) / 5
        print(f"  engagement: CPU (Django + PostgreSQL backend) {per_request * 1000:.0f} ms a request")
        results.append(
            (
                "engagement, one customer, 1M events in window",
                f"{seconds * 1000:.0f} ms",
                "<= 200 ms",
                seconds <= 0.2,
            )
        )

    print()
    width = max(len(r[0]) for r in results)
    for label, value, target, ok in results:
        mark = "" if target == "(info)" else ("  ok" if ok else "  MISSED")
        print(f"{label:<{width}}  {value:>16}   target {target}{mark}")


if __name__ == "__main__":
    main()
