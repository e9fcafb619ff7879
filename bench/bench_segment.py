"""The Segment-spec tracking API under load (issue 18's target), on PostgreSQL, loopback only.

`POST /v1/batch` on gunicorn (BENCH_WORKERS sync workers), fed by BENCH_CLIENTS processes each running the
official Segment Python client (segment-analytics-python), unchanged but for host and write key, with these
settings: upload_size=BENCH_UPLOAD_SIZE (default 1,000 events a request, ~330 KB, under Segment's 500 KB),
upload_interval 0.5 s, one consumer thread, gzip off, max_queue_size large enough to hold the run. Each
client tracks BENCH_EVENTS ÷ BENCH_CLIENTS events (`track` with `context.groupId` of one of 1,000 customers,
20 users each) as fast as it can, then flushes.
                                                         target >= 20,000 events/s, p99 request <= 500 ms

Events/s = events stored ÷ wall time from the first track call to the last batch answered. The p99 is over
the requests' durations as gunicorn logs them (%(D)s). The CPU of gunicorn and PostgreSQL is printed too: the
machine may be shared, and the clients run on the same cores as the server.

Creates (drops and recreates) its own database, `cshub_bench_segment` by default, on DATABASE_URL's server.
Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub REDIS_URL=redis://127.0.0.1:6379/5 \\
       python bench/run.py segment
Env: BENCH_DB, BENCH_EVENTS (200000), BENCH_CLIENTS (2), BENCH_WORKERS (2), BENCH_UPLOAD_SIZE (1000).

Two workers: each client has one consumer thread, so two clients never have more than two requests in
flight; a third worker only adds a process competing for the same cores. The clients' own CPU is printed per
event, with the rate they alone would allow on these cores (docs/integrations.md#throughput).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "200000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
UPLOAD_SIZE = int(os.environ.get("BENCH_UPLOAD_SIZE", "1000"))
CUSTOMERS = 1000
USERS_PER_CUSTOMER = 20
TARGET_EPS = 20_000.0
TARGET_P99_MS = 500.0
LOG = Path(os.environ.get("BENCH_LOG", ROOT / "test-artifacts" / "bench_segment.log"))


def bench_env() -> dict[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not os.environ.get("REDIS_URL"):
        # Redis: the dirty marks queue the live recompute there (no worker consumes it during the run);
        # without a broker the recompute would run inside each request.
        sys.exit("bench_segment needs DATABASE_URL (PostgreSQL; it creates its own database) and REDIS_URL")
    import psycopg

    parsed = urlparse(url)
    name = os.environ.get("BENCH_DB", "cshub_bench_segment")
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return {
        **os.environ,
        "DATABASE_URL": urlunparse(parsed._replace(path=f"/{name}")),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSHUB_TESTING": "0",
        "DJANGO_SETTINGS_MODULE": "cshub.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        # The live recompute the dirty marks queue is not what is measured: no broker, no eager recompute.
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "REDIS_URL": os.environ["REDIS_URL"],
        # Past CONN_MAX_AGE a worker reconnects, and the CPU of the backend it leaves is no longer counted.
        "CONN_MAX_AGE": "900",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pid: int) -> float:
    """utime + stime of a process and its children that have been waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    total = cpu_of(root)
    for child in Path(f"/proc/{root}/task/{root}/children").read_text().split():
        total += cpu_of(int(child))
    return total


def postgres_cpu(database: str) -> float:
    """CPU of the PostgreSQL backends serving `database` (their title names it): the machine's other
    databases are not counted."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                total += cpu_of(int(proc.name))
    return total


def make_data() -> str:
    from accounts.models import Customer
    from integrations.segment.keys import write_key_get_or_create

    Customer.objects.bulk_create(
        [
            Customer(external_id=f"SEG-{i:05d}", name=f"Segment customer {i}", licenses=50)
            for i in range(CUSTOMERS)
        ]
    )
    return write_key_get_or_create()


def client_run(args: tuple[str, str, int, int]) -> tuple[int, float, list[str], float]:
    """One client process: the official library, host and key changed, track `count` events, flush."""
    from segment.analytics import Client

    host, key, seed, count = args
    errors: list[str] = []
    client = Client(
        key,
        host=host,
        upload_size=UPLOAD_SIZE,
        upload_interval=0.5,
        gzip=False,
        max_queue_size=count + 1,
        max_retries=3,
        on_error=lambda e, batch: errors.append(str(e)),
    )
    started, cpu = time.monotonic(), time.process_time()
    for n in range(count):
        customer = (seed * 7919 + n) % CUSTOMERS
        client.track(
            f"user-{customer}-{n % USERS_PER_CUSTOMER}",
            "Report Exported" if n % 3 else "Dashboard Viewed",
            properties={"rows": n % 100},
            context={"groupId": f"SEG-{customer:05d}"},
        )
    client.flush()
    client.join()
    return count, time.monotonic() - started, errors[:3], time.process_time() - cpu


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def durations_ms(log: Path) -> list[float]:
    out = []
    for line in log.read_text().splitlines():
        if line.startswith("BATCH "):
            _, _status, micros = line.split()
            out.append(int(micros) / 1000)
    return out


def child() -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from metrics.models import UsageEvent

    LOG.parent.mkdir(parents=True, exist_ok=True)
    key = make_data()
    port = free_port()
    access = LOG.with_suffix(".access")
    access.unlink(missing_ok=True)
    server = subprocess.Popen(  # noqa: S603
        [
            str(VENV_BIN / "gunicorn"),
            "cshub.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            "--log-level=warning",
            f"--access-logfile={access}",
            "--access-logformat=BATCH %(s)s %(D)s",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=LOG.open("a"),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        host = f"http://127.0.0.1:{port}"
        client_run((host, key, 999, 2 * UPLOAD_SIZE))  # warm every worker's imports and connection
        warm = UsageEvent.objects.count()
        access.write_text("")
        per_client = EVENTS // CLIENTS
        database = urlparse(os.environ["DATABASE_URL"]).path[1:]
        app0, pg0 = tree_cpu(server.pid), postgres_cpu(database)
        started = time.monotonic()
        with Pool(CLIENTS) as pool:
            results = pool.map(client_run, [(host, key, i, per_client) for i in range(CLIENTS)])
        elapsed = time.monotonic() - started
        app_cpu, pg_cpu = tree_cpu(server.pid) - app0, postgres_cpu(database) - pg0
    finally:
        stop(server)
    stored = UsageEvent.objects.count() - warm
    sent = sum(r[0] for r in results)
    errors = [e for r in results for e in r[2]]
    client_cpu = sum(r[3] for r in results)
    latencies = sorted(durations_ms(access))
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    eps = stored / elapsed
    ok = stored == sent and not errors
    verdict = "PASS" if ok and eps >= TARGET_EPS and p99 <= TARGET_P99_MS else "FAIL"
    print(
        f"  /v1/batch on gunicorn x{WORKERS}, {CLIENTS} official Segment clients (upload_size {UPLOAD_SIZE}, "
        f"upload_interval 0.5 s, gzip off): {sent:,} events sent, {stored:,} stored in {elapsed:.1f} s = "
        f"{eps:,.0f} events/s; {len(latencies):,} requests, p50 {p50:.0f} ms, p99 {p99:.0f} ms; "
        f"errors {errors or 0}; target >= {TARGET_EPS:,.0f} events/s, p99 <= {TARGET_P99_MS:.0f} ms -> "
        f"{verdict} (ratio {eps / TARGET_EPS:.2f}x, p99 {TARGET_P99_MS / p99:.2f}x)"
    )
    print(
        f"    CPU: gunicorn {app_cpu:.1f} s, PostgreSQL (this database's backends) {pg_cpu:.1f} s over "
        f"{elapsed:.1f} s of wall time on {os.cpu_count()} cores (load average now {os.getloadavg()[0]:.1f}; "
        f"the clients, {client_cpu:.1f} s of CPU, share those cores): "
        f"{stored / max(app_cpu + pg_cpu, 0.001):,.0f} events per server CPU-second"
    )
    per_event = client_cpu / max(sent, 1)
    print(
        f"    Clients: {per_event * 1e6:.0f} us of CPU per event; on {os.cpu_count()} cores they alone would "
        f"allow {os.cpu_count() / max(per_event, 1e-9):,.0f} events/s with a server that cost nothing"
    )
    return 0 if verdict == "PASS" else 1


def main() -> int:
    """Run in a fresh interpreter: bench/run.py may already have set Django up for another benchmark."""
    env = {**bench_env(), "BENCH_SEGMENT_CHILD": "1"}
    print(f"bench_segment on {urlparse(env['DATABASE_URL']).path[1:]} (cpus: {os.cpu_count()})", flush=True)
    return subprocess.run(  # noqa: S603
        [sys.executable, __file__], env=env, cwd=ROOT, check=False, timeout=900
    ).returncode


if __name__ == "__main__":
    sys.exit(child() if os.environ.get("BENCH_SEGMENT_CHILD") == "1" else main())
