"""Nightly health recompute at scale, on PostgreSQL through real Celery workers (issue 5's speed targets).

For each size (default 10,000 then 100,000 customers) it drops and recreates a dedicated database
(`cshub_bench_health` on the server of DATABASE_URL), generates the data server-side with
`INSERT … SELECT generate_series` (the same statements a COPY would feed, without shipping 10 M rows through
Python), builds the UsageDaily rollup from the raw events with one INSERT … SELECT, then:

- puts the day back in the state a nightly run finds it in (untimed): no snapshots for the day yet and the
  customers' denormalised health fields empty, as right after generation, so a run on reused data (`--reuse`)
  measures the same work as the first one instead of a re-run that deletes 100,000 rows and updates no
  customer,
- starts a real `celery -A cshub worker -c 2` subprocess (prefork, 2 processes) on REDIS_URL,
- sends the nightly chord for one day (chunk tasks + finish hook) and waits for the finish task,
- samples the worker processes' RSS (/proc) every 0.2 s: peak of the largest process and of all together,
- times one plain SQL pass aggregating the same usage rows the recompute reads (the floor),
- prints recompute time, the ratio recompute ÷ floor, and snapshots written.

Targets at 100,000 customers / 10 M events: ≤ 10 min, peak worker memory ≤ 1 GiB, ratio ≤ 5, ~linear growth.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub REDIS_URL=redis://127.0.0.1:6379/6 \
       python bench/bench_health.py [--sizes 10000,100000]
Data per 100,000 customers (scaled linearly for other sizes): 10 M usage events over 60 days, 200,000 tickets,
300,000 survey responses, 200,000 touchpoints, 100,000 pulses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = os.environ.get("BENCH_HEALTH_DB", "cshub_bench_health")
PER_100K = {
    "events": 10_000_000,
    "tickets": 200_000,
    "responses": 300_000,
    "touchpoints": 200_000,
    "pulses": 100_000,
}
FEATURES = ["reports", "dashboards", "alerts", "export", "api", "sso", "mobile", "integrations"]
KEY_FEATURES = ["reports", "dashboards", "alerts", "export", "api"]
DAY = dt.date(2026, 6, 30)  # the day recomputed; events cover the 60 days up to it


def _urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench_health needs DATABASE_URL pointing at PostgreSQL (it creates its own database there)")
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench_health needs REDIS_URL (the Celery broker of the worker it starts)")
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/postgres")), urlunparse(parsed._replace(path=f"/{DB_NAME}"))


def _recreate_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ["CSHUB_TESTING"] = "0"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cshub.settings")
    import django

    django.setup()


def _sql(statement: str, params: list | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _scalar(statement: str, params: list | None = None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchone()[0]


def _bulk_load(table: str, fn) -> None:
    """Run `fn` (a big INSERT into `table`) with the table's unique/foreign-key constraints and secondary
    indexes dropped, then build them again: one sorted index build is far cheaper than 10 M index inserts."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    fn()
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in sorted(constraints, key=lambda c: "FOREIGN" in c[1]):
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _step(label: str, fn) -> float:
    t0 = time.perf_counter()
    fn()
    took = time.perf_counter() - t0
    print(f"  {label:<58} {took:8.1f} s", flush=True)
    return took


def generate(customers: int) -> None:
    """Customers, 60 days of usage events and their rollup, tickets, surveys, touchpoints and pulses."""
    from django.core.management import call_command

    scale = customers / 100_000
    n = {k: int(v * scale) for k, v in PER_100K.items()}
    start = DAY - dt.timedelta(days=59)
    _step("migrate", lambda: call_command("migrate", verbosity=0))
    # The months of the generated events get their own partitions, as the nightly maintenance would have
    # made them in production (docs/operations.md#usage-partitions); otherwise they land in DEFAULT.
    from metrics.partitions import is_partitioned, month_start, next_month, partition_create

    if is_partitioned():
        month = month_start(start)
        while month <= DAY:
            partition_create(month)
            month = next_month(month)
    _sql("SELECT setseed(0.42)")
    _sql("SET maintenance_work_mem = '512MB'")
    _sql("SET work_mem = '256MB'")
    _sql("SET synchronous_commit = off")
    # Every tenth customer is in decline (usage fading over the 60 days); licenses 5-200.
    _step(
        f"{customers:,} customers",
        lambda: _sql(
            """
            INSERT INTO accounts_customer (external_id, name, segment, licenses, lifecycle_stage,
                                           health_band, created_at, updated_at)
            SELECT 'B-' || lpad(i::text, 7, '0'), 'Bench customer ' || i,
                   (ARRAY['SMB', 'Mid-Market', 'Enterprise'])[1 + i %% 3], 5 + (i * 7919) %% 196,
                   'adopting', '', now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [customers],
        ),
    )
    lo = _scalar("SELECT min(id) FROM accounts_customer")
    _sql(
        "INSERT INTO metrics_keyfeature (name, description) SELECT unnest(%s::text[]), ''",
        [KEY_FEATURES],
    )
    # Events: customer uniform; user 1-20 (fewer for small customers via modulo of licenses); the day is
    # skewed late for most customers and early for the declining tenth.
    _step(
        f"{n['events']:,} usage events (60 days), then their indexes",
        lambda: _bulk_load(
            "metrics_usageevent",
            lambda: _sql(
                """
            INSERT INTO metrics_usageevent (event_id, customer_id, user_id, feature, occurred_at, quantity)
            SELECT 'e' || g, c, 'u' || (1 + floor(random() * 20))::int,
                   (%s::text[])[1 + floor(random() * 8)::int],
                   %s::timestamptz + make_interval(
                       days => CASE WHEN c %% 10 = 0 THEN floor(59 * random() * random())
                                    ELSE floor(59 * sqrt(random())) END::int,
                       secs => floor(random() * 86400)::int),
                   1
            FROM (SELECT g, %s + floor(random() * %s)::bigint AS c FROM generate_series(1, %s) AS g) AS s
            """,
                [FEATURES, f"{start.isoformat()} 00:00:00+00", lo, customers, n["events"]],
            ),
        ),
    )
    _step(
        "UsageDaily rollup (INSERT … SELECT … GROUP BY), then its indexes",
        lambda: _bulk_load(
            "metrics_usagedaily",
            lambda: _sql(
                """
            INSERT INTO metrics_usagedaily (customer_id, user_id, feature, day, events, quantity)
            SELECT customer_id, user_id, feature, (occurred_at AT TIME ZONE 'UTC')::date,
                   count(*), sum(quantity)
            FROM metrics_usageevent GROUP BY 1, 2, 3, 4
            """
            ),
        ),
    )
    _step(
        f"{n['tickets']:,} tickets",
        lambda: _sql(
            """
            INSERT INTO metrics_ticket (external_id, customer_id, opened_at, resolved_at, priority,
                                        first_contact_resolution, category, updated_at)
            SELECT 't' || g, c, o,
                   CASE WHEN random() < 0.8 THEN o + interval '1 hour' * (1 + random() * 200) END,
                   (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + floor(random() * 5)::int],
                   random() < 0.5, '', now()
            FROM (SELECT g, %s + floor(random() * %s)::bigint AS c,
                         %s::timestamptz - random() * interval '120 days' AS o
                  FROM generate_series(1, %s) AS g) AS s
            """,
            [lo, customers, f"{DAY.isoformat()} 23:00:00+00", n["tickets"]],
        ),
    )
    _step(
        f"{n['responses']:,} survey responses",
        lambda: _sql(
            """
            INSERT INTO surveys_response (customer_id, contact_email, kind, score, comment, answered_at)
            SELECT c, 'contact' || (g %% 4) || '@b' || c || '.example', k,
                   CASE k WHEN 'nps' THEN floor(random() * 11) WHEN 'csat' THEN 1 + floor(random() * 5)
                          ELSE 1 + floor(random() * 7) END,
                   '', %s::timestamptz - make_interval(secs => g %% 31536000)
            FROM (SELECT g, %s + floor(random() * %s)::bigint AS c,
                         (ARRAY['nps', 'nps', 'csat', 'ces'])[1 + floor(random() * 4)::int] AS k
                  FROM generate_series(1, %s) AS g) AS s
            ON CONFLICT DO NOTHING
            """,
            [f"{DAY.isoformat()} 23:00:00+00", lo, customers, n["responses"]],
        ),
    )
    _step(
        f"{n['touchpoints']:,} touchpoints",
        lambda: _sql(
            """
            INSERT INTO accounts_touchpoint (customer_id, kind, occurred_at, sentiment, summary, created_at)
            SELECT %s + floor(random() * %s)::bigint, 'call',
                   %s::timestamptz - random() * interval '200 days',
                   'neutral', 'Check-in.', now()
            FROM generate_series(1, %s)
            """,
            [lo, customers, f"{DAY.isoformat()} 23:00:00+00", n["touchpoints"]],
        ),
    )
    _step(
        f"{n['pulses']:,} pulses",
        lambda: _sql(
            """
            INSERT INTO accounts_pulse (customer_id, score, note, created_at)
            SELECT %s + floor(random() * %s)::bigint, 1 + floor(random() * 5), '',
                   %s::timestamptz - random() * interval '120 days'
            FROM generate_series(1, %s)
            """,
            [lo, customers, f"{DAY.isoformat()} 23:00:00+00", n["pulses"]],
        ),
    )
    _step("VACUUM ANALYZE", lambda: _vacuum())


def _vacuum(*tables: str) -> None:
    from django.db import connection

    connection.ensure_connection()
    old = connection.connection.autocommit
    connection.connection.autocommit = True
    try:
        connection.connection.execute(f"VACUUM ANALYZE {', '.join(tables)}")
    finally:
        connection.connection.autocommit = old


def floor_pass() -> tuple[float, int]:
    """One plain SQL pass aggregating the usage rows the recompute reads: UsageDaily over the 60 days up to
    DAY, per customer (active users in 30 days, events in each 30-day window)."""
    from django.db import connection

    sql = """
        SELECT customer_id,
               COUNT(DISTINCT user_id) FILTER (WHERE day > %s),
               SUM(events) FILTER (WHERE day > %s), SUM(events) FILTER (WHERE day <= %s)
        FROM metrics_usagedaily WHERE day > %s AND day <= %s GROUP BY customer_id
    """
    mid = DAY - dt.timedelta(days=30)
    best = None
    rows = 0
    for _ in range(3):
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [mid, mid, mid, DAY - dt.timedelta(days=60), DAY])
            rows = len(cursor.fetchall())
        took = time.perf_counter() - t0
        best = took if best is None else min(best, took)
    return best, rows


class RssSampler(threading.Thread):
    """Peak RSS of a process tree (the Celery worker and its pool processes), from /proc, every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_one = 0
        self.peak_total = 0
        self.stop = threading.Event()

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                pass
        return pids

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0

    def run(self) -> None:
        while not self.stop.is_set():
            sizes = [self._rss(p) for p in self._tree()]
            self.peak_one = max(self.peak_one, max(sizes, default=0))
            self.peak_total = max(self.peak_total, sum(sizes))
            time.sleep(0.2)


def start_worker(
    db_url: str, app: str = "cshub", extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        **(extra_env or {}),
        "DATABASE_URL": db_url,
        "CSHUB_TESTING": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "1",
    }
    celery = str(Path(sys.executable).with_name("celery"))
    worker = subprocess.Popen(  # noqa: S603 - our own venv's celery
        [
            celery,
            "-A",
            app,
            "--quiet",
            "worker",
            "-c",
            "2",
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "-n",
            f"bench-health-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    from cshub.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return worker
        if worker.poll() is not None:
            sys.exit("the Celery worker exited at start")
    sys.exit("the Celery worker did not answer a ping within 60 s")


def reset_day() -> None:
    """Untimed: the state a nightly run starts from (and the first run after generation sees): no snapshots
    for DAY, customers' health fields empty; then VACUUM ANALYZE both tables so earlier runs' dead rows do not
    weigh on this one."""
    _sql("DELETE FROM metrics_healthsnapshot WHERE date = %s", [DAY])
    _sql(
        "UPDATE accounts_customer SET health_score = NULL, health_band = '', health_change_7d = NULL, "
        "health_as_of = NULL WHERE health_as_of IS NOT NULL OR health_band <> ''"
    )
    _vacuum("metrics_healthsnapshot", "accounts_customer")


def recompute_through_celery(db_url: str, customers: int) -> dict[str, float]:
    from cshub.celery import app
    from metrics.models import HealthSnapshot
    from metrics.tasks import health_recompute_dispatch

    app.conf.task_always_eager = False
    app.control.purge()
    worker = start_worker(db_url)
    sampler = RssSampler(worker.pid)
    sampler.start()
    try:
        t0 = time.perf_counter()
        result = health_recompute_dispatch(DAY.isoformat())
        result.get(timeout=3600, propagate=True)
        took = time.perf_counter() - t0
    finally:
        sampler.stop.set()
        sampler.join()
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the worker finishes what it runs, then exits
        try:
            worker.wait(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    written = HealthSnapshot.objects.filter(date=DAY).count()
    if written != customers:
        sys.exit(f"expected {customers} snapshots for {DAY}, found {written}")
    return {"seconds": took, "peak_one": sampler.peak_one, "peak_total": sampler.peak_total}


SIZED_TABLES = ["metrics_usageevent", "metrics_usagedaily", "metrics_usageuserday", "accounts_customer"]


def table_sizes() -> dict[str, tuple[int, int]]:
    """Rows and bytes (heap, indexes and TOAST: pg_total_relation_size) per table; a partitioned table is
    the sum of its partitions (its own size is 0)."""
    _sql("ANALYZE")
    out = {}
    for table in SIZED_TABLES:
        rows = _scalar(f"SELECT count(*) FROM {table}")  # noqa: S608 - our table names
        size = _scalar(
            "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_total_relation_size(t.relid)) "
            "FROM pg_partition_tree(c.oid) t) ELSE pg_total_relation_size(c.oid) END::bigint "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [table],
        )
        out[table] = (rows, size)
    return out


def _existing_customers(admin_url: str) -> int | None:
    import psycopg

    with psycopg.connect(admin_url) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            return None
    try:
        return _scalar("SELECT count(*) FROM accounts_customer")
    except Exception:
        return None


def run_size(customers: int, admin_url: str, db_url: str, *, reuse: bool = False) -> dict[str, float]:
    from django.db import connections

    if reuse and _existing_customers(admin_url) == customers:
        print(f"\n-- {customers:,} customers: reusing the data in {DB_NAME}", flush=True)
    else:
        connections.close_all()
        _recreate_database(admin_url)
        print(f"\n-- {customers:,} customers: generating (database {DB_NAME})", flush=True)
        generate(customers)
    rollup_rows = _scalar("SELECT count(*) FROM metrics_usagedaily")
    events = _scalar("SELECT count(*) FROM metrics_usageevent")
    print(f"  usage events {events:,}, rollup rows {rollup_rows:,}", flush=True)
    sizes = table_sizes()
    for table, (rows, size) in sizes.items():
        per_million = size / rows * 1_000_000 / 1024**3 if rows else 0.0
        print(
            f"  size {table:<28} {rows:>12,} rows {size / 1024**2:>10,.0f} MiB "
            f"({size / rows if rows else 0:,.0f} B/row, {per_million:.2f} GiB per million rows)",
            flush=True,
        )
    database = _scalar("SELECT pg_database_size(current_database())")
    print(f"  size of the whole database {database / 1024**3:,.2f} GiB", flush=True)
    floor, grouped = floor_pass()
    print(
        f"  floor: one SQL pass over the usage rollup ({grouped:,} customers)      {floor:8.2f} s", flush=True
    )
    reset_day()
    run = recompute_through_celery(db_url, customers)
    # The finish hook (settings.CSHUB_AFTER_HEALTH_RECOMPUTE: playbook trigger evaluation) is part of the
    # nightly chord above; timed again alone here so the recompute itself can be read off.
    from metrics.health.services import health_recompute_finished

    t0 = time.perf_counter()
    health_recompute_finished(day=DAY)
    run["hook"] = time.perf_counter() - t0
    mib = 1024 * 1024
    print(
        f"  nightly recompute through Celery (-c 2), chord incl. finish hook   {run['seconds']:8.1f} s\n"
        f"  peak worker RSS: largest process {run['peak_one'] / mib:,.0f} MiB, all worker processes "
        f"{run['peak_total'] / mib:,.0f} MiB\n"
        f"  of which the finish hook alone (trigger evaluation, run again)   {run['hook']:8.1f} s\n"
        f"  ratio recompute / floor: {run['seconds'] / floor:,.1f} with the hook, "
        f"{(run['seconds'] - run['hook']) / floor:,.1f} without",
        flush=True,
    )
    return {"customers": customers, "floor": floor, **run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_HEALTH_SIZES", "10000,100000"),
        help="comma-separated customer counts (env BENCH_HEALTH_SIZES)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the generated data when the database has that many customers",
    )
    args, _rest = parser.parse_known_args(argv)  # bench/run.py leaves its own arguments in sys.argv
    sizes = [int(s) for s in args.sizes.split(",") if s]
    admin_url, db_url = _urls()
    _setup_django(db_url)
    results = [run_size(n, admin_url, db_url, reuse=args.reuse) for n in sizes]
    print("\n== health recompute: summary")
    print(
        f"{'customers':>10} {'recompute s':>12} {'floor s':>9} {'ratio':>7} "
        f"{'peak RSS MiB':>13} {'s per 1k':>9}"
    )
    for r in results:
        print(
            f"{r['customers']:>10,} {r['seconds']:>12.1f} {r['floor']:>9.2f} "
            f"{r['seconds'] / r['floor']:>7.1f} "
            f"{r['peak_one'] / 1048576:>13,.0f} {1000 * r['seconds'] / r['customers']:>9.2f}"
        )
    if len(results) > 1:
        a, b = results[0], results[-1]
        growth = (b["seconds"] / a["seconds"]) / (b["customers"] / a["customers"])
        print(
            f"time grows x{b['seconds'] / a['seconds']:.1f} "
            f"for x{b['customers'] / a['customers']:.0f} customers "
            f"(1.0 = linear: {growth:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
