"""Survey sending and answering at scale (issue 4's speed targets), on PostgreSQL + Redis, loopback only.

1. Queue and send 10,000 invitations (one campaign) through Celery with 2 worker processes to a local SMTP
   sink (aiosmtpd): from `campaign_send` until the sink has every message.                 target <= 60 s
2. The public answer POST (`/s/<token>/`, full middleware, CSRF, rate limiter on Redis, row lock, insert) on
   gunicorn with 4 sync workers, driven over loopback by wrk (C, epoll: it leaves the 2 cores to the server;
   without wrk, Python client processes, which under-report), each token POSTed once. target >= 300 req/s

Creates (drops and recreates) its own database, `cshub_bench_surveys` by default, on DATABASE_URL's server and
uses its own Celery queue, so it never touches real data or workers. Every wait is bounded.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub REDIS_URL=redis://127.0.0.1:6379/5 \\
       python bench/run.py surveys
Env: BENCH_DB, BENCH_REDIS_URL (default: REDIS_URL's server, database 15), BENCH_INVITATIONS (10000),
BENCH_ANSWERS (15000 tokens), BENCH_ANSWER_SECONDS (15), BENCH_WRK_CONNECTIONS (16), BENCH_CLIENTS (8, the
Python fallback), BENCH_SKIP_SEND=1 (answering only).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from multiprocessing import Pool
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
INVITATIONS = int(os.environ.get("BENCH_INVITATIONS", "10000"))
ANSWERS = int(os.environ.get("BENCH_ANSWERS", "15000"))  # tokens for the answer run: more than it can use
ANSWER_SECONDS = int(os.environ.get("BENCH_ANSWER_SECONDS", "15"))
WRK = shutil.which("wrk")
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "16"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
CONTACTS_PER_CUSTOMER = 5
QUEUE = "cshub_bench_surveys"
SEND_TARGET_S = 60.0
ANSWER_TARGET_RPS = 300.0
LOG = Path(os.environ.get("BENCH_LOG", ROOT / "test-artifacts" / "bench_surveys.log"))  # subprocesses' stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env() -> dict[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    redis = os.environ.get("REDIS_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not redis:
        sys.exit("bench_surveys needs DATABASE_URL (PostgreSQL) and REDIS_URL (it creates its own database)")
    import psycopg

    parsed = urlparse(url)
    name = os.environ.get("BENCH_DB", "cshub_bench_surveys")
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    # A Redis database of its own (15 unless BENCH_REDIS_URL says otherwise): tests flushing theirs, or other
    # workers on the shared one, must not eat the benchmark's queue.
    bench_redis = os.environ.get("BENCH_REDIS_URL") or urlunparse(urlparse(redis)._replace(path="/15"))
    return {
        **os.environ,
        "DATABASE_URL": urlunparse(parsed._replace(path=f"/{name}")),
        "REDIS_URL": bench_redis,
        "DEBUG": "0",  # DEBUG keeps every SQL query in memory: not what production runs
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SITE_URL": "http://127.0.0.1",
        "CSHUB_TESTING": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_QUEUE": QUEUE,
        "DJANGO_SETTINGS_MODULE": "cshub.settings",
        "LOG_LEVEL": "WARNING",
        # One client address sends every request here; the limiter still runs (a Redis INCR per request).
        "CSHUB_SURVEY_RATE_LIMIT": "1000000000",
        "PYTHONPATH": str(ROOT),
    }


# --- the SMTP sink ---------------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    print(f"  !! gave up after {timeout:.0f} s waiting for {what}")
    return False


# --- CPU accounting: this machine may be shared, so the wall clock alone can mislead -------------------


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return kids


def _db_backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def _postmaster() -> int:
    """The PostgreSQL server's main process: the parent of this connection's backend."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _reaped_cpu(pid: int) -> float:
    """CPU seconds of the children `pid` has waited for (cutime + cstime): exited backends, for the
    postmaster."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by a server's process tree and by the PostgreSQL backends serving it — including
    backends that came and went in between (Celery's workers close their connection after every task):
    those are counted through the postmaster's reaped-children time."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.start: dict[int, float] = {}
        self.start_db: set[int] = set()
        self.postmaster = _postmaster()
        self.start_reaped = 0.0

    def _sample(self) -> tuple[dict[int, float], set[int]]:
        db = set(_db_backends())
        pids = {self.root, *_children(self.root), *db}
        return {pid: _cpu_of(pid) for pid in pids}, db

    def begin(self) -> None:
        self.start, self.start_db = self._sample()
        self.start_reaped = _reaped_cpu(self.postmaster)

    def used(self) -> tuple[float, float]:
        """(app processes, PostgreSQL) CPU seconds since begin()."""
        now, db = self._sample()
        app = sum(v - self.start.get(pid, 0.0) for pid, v in now.items() if pid not in db)
        pg = sum(v - self.start.get(pid, 0.0) for pid, v in now.items() if pid in db)
        # Backends that exited since begin(): their whole time is in the postmaster's reaped time, less what
        # those alive at begin() had used by then.
        gone = self.start_db - db
        pg += _reaped_cpu(self.postmaster) - self.start_reaped - sum(self.start.get(pid, 0.0) for pid in gone)
        return app, pg


def projection(items: int, app_cpu: float, pg_cpu: float) -> str:
    """What the measured CPU cost means on this many idle cores (assumes they can be kept busy)."""
    cores = os.cpu_count() or 1
    per_item = (app_cpu + pg_cpu) / items
    return (
        f"CPU {1000 * app_cpu / items:.1f} ms app + {1000 * pg_cpu / items:.1f} ms PostgreSQL per item "
        f"-> about {cores / per_item:,.0f}/s on {cores} idle cores"
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def make_data():
    """Customers with 5 contacts each, a manager allowed to survey them all (admin role)."""
    from accounts.models import Contact, Customer, LifecycleStage, Role, User

    admin = User.objects.create_user(email="bench-admin@example.com", role=Role.ADMIN)
    n_customers = (INVITATIONS + ANSWERS) // CONTACTS_PER_CUSTOMER + 1
    Customer.objects.bulk_create(
        Customer(external_id=f"BS-{i:06d}", name=f"Bench Survey {i}", lifecycle_stage=LifecycleStage.MATURE)
        for i in range(n_customers)
    )
    customers = list(Customer.objects.order_by("external_id"))
    Contact.objects.bulk_create(
        (
            Contact(customer=c, email=f"p{k}.{c.external_id.lower()}@bench.example")
            for c in customers
            for k in range(CONTACTS_PER_CUSTOMER)
        ),
        batch_size=5000,
    )
    split = INVITATIONS // CONTACTS_PER_CUSTOMER
    return admin, customers[:split], customers[split:]


# --- 1. sending ------------------------------------------------------------------------------------------


def bench_send(env: dict[str, str], admin, customers) -> dict:
    from aiosmtpd.controller import Controller

    from surveys.models import Invitation, InvitationState
    from surveys.services import campaign_send

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    worker_env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}"}
    worker = subprocess.Popen(  # noqa: S603
        [
            str(VENV_BIN / "celery"),
            "-A",
            "cshub",
            "worker",
            "--concurrency=2",
            "--pool=prefork",
            f"--queues={QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
            f"--hostname=bench-surveys-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=LOG.open("a"),
    )
    try:
        from cshub.celery import app

        app.control.purge()
        if not wait_until(
            lambda: bool(app.control.ping(timeout=0.5)), timeout=60, what="the Celery workers to start"
        ):
            return {"ok": False}
        meter = CpuMeter(worker.pid)
        meter.begin()
        started = time.monotonic()
        result = campaign_send(user=admin, kind="nps", customers=customers, selection="bench")
        queued_s = time.monotonic() - started
        done = wait_until(lambda: sink.count >= result.queued, timeout=180, what="every email at the sink")
        elapsed = time.monotonic() - started
        app_cpu, pg_cpu = meter.used()
        sent = Invitation.objects.filter(campaign=result.campaign, state=InvitationState.SENT).count()
        time.sleep(1.0)  # a duplicate would arrive now
        return {
            "ok": done,
            "queued": result.queued,
            "queue_s": queued_s,
            "elapsed_s": elapsed,
            "emails": sink.count,
            "marked_sent": sent,
            "cpu": projection(result.queued, app_cpu, pg_cpu),
        }
    finally:
        stop(worker)
        controller.stop()


# --- 2. answering ----------------------------------------------------------------------------------------


def make_links(customers) -> list[str]:
    """Invitations whose tokens the bench knows (made directly: the send path is measured above)."""
    import datetime as dt
    import secrets

    from django.utils import timezone

    from accounts.models import Contact
    from surveys.models import Campaign, Invitation, InvitationState, token_hash

    campaign = Campaign.objects.create(kind="nps", question="How likely are you to recommend us?")
    contacts = list(Contact.objects.filter(customer__in=customers).order_by("pk")[:ANSWERS])
    tokens = [secrets.token_urlsafe(32) for _ in contacts]
    now = timezone.now()
    Invitation.objects.bulk_create(
        (
            Invitation(
                campaign=campaign,
                customer_id=c.customer_id,
                contact=c,
                token_hash=token_hash(t),
                state=InvitationState.SENT,
                sent_at=now,
                expires_at=now + dt.timedelta(days=30),
            )
            for c, t in zip(contacts, tokens, strict=True)
        ),
        batch_size=5000,
    )
    return tokens


def post_answers(args: tuple[int, list[str]]) -> tuple[int, int, list[str]]:
    """One client process: POST each token once (gunicorn's sync workers close the connection each time)."""
    port, tokens = args
    ok = errors = 0
    samples: list[str] = []
    for i, token in enumerate(tokens):
        body = urlencode({"score": str(i % 11), "comment": "Bench answer."})
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(
                "POST",
                f"/s/{token}/",
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            response = conn.getresponse()
            response.read()
            if response.status == 302:
                ok += 1
            else:
                errors += 1
                if len(samples) < 3:
                    samples.append(str(response.status))
        except OSError as exc:
            errors += 1
            if len(samples) < 3:
                samples.append(repr(exc))
        finally:
            conn.close()
    return ok, errors, samples


def drive_with_wrk(port: int, tokens: list[str], server_pid: int) -> dict:
    """wrk (C, epoll) drives the load: a Python client would take much of the 2 cores from the server."""
    tokens_file = LOG.parent / "bench_surveys_tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    threads = 2
    meter = CpuMeter(server_pid)
    meter.begin()
    out = subprocess.run(  # noqa: S603
        [
            WRK,
            f"--threads={threads}",
            f"--connections={WRK_CONNECTIONS}",
            f"--duration={ANSWER_SECONDS}s",
            "--timeout=10s",
            f"--script={ROOT / 'bench' / 'answer.lua'}",
            f"http://127.0.0.1:{port}/",
            "--",
            str(tokens_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=ANSWER_SECONDS + 60,
    )
    app_cpu, pg_cpu = meter.used()
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        return {"requests": 0, "errors": 1, "samples": [out.stdout[-500:], out.stderr[-500:]], "answered": 0}
    r = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    requests = int(r["requests"])
    elapsed = r["duration_us"] / 1e6
    socket_errors = int(r["connect"] + r["read"] + r["write"] + r["timeout"])
    errors = int(r["other_status"]) + socket_errors + int(r["exhausted"])
    return {
        "client": f"wrk, {threads} threads, {WRK_CONNECTIONS} connections, {ANSWER_SECONDS} s",
        "requests": requests,
        "elapsed_s": elapsed,
        "rps": requests / elapsed,
        "answered": int(r["redirects"]),
        "errors": errors,
        "samples": [
            f"non-302 {int(r['other_status'])}, socket errors {socket_errors}, "
            f"out of tokens {int(r['exhausted'])}"
        ]
        if errors
        else [],
        "latency": f"latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms",
        "cpu": projection(requests, app_cpu, pg_cpu),
    }


def drive_with_python(port: int, tokens: list[str], server_pid: int) -> dict:
    """Fallback without wrk: Python client processes (they share the cores, so this under-reports)."""
    chunks = [(port, tokens[i::CLIENTS]) for i in range(CLIENTS)]
    with Pool(CLIENTS) as pool:
        meter = CpuMeter(server_pid)
        meter.begin()
        started = time.monotonic()
        results = pool.map(post_answers, chunks)
        elapsed = time.monotonic() - started
        app_cpu, pg_cpu = meter.used()
    ok = sum(r[0] for r in results)
    return {
        "client": f"{CLIENTS} Python client processes (wrk not found: apt-get install wrk)",
        "requests": len(tokens),
        "elapsed_s": elapsed,
        "rps": len(tokens) / elapsed,
        "answered": ok,
        "errors": sum(r[1] for r in results),
        "samples": [s for r in results for s in r[2]][:5],
        "latency": "",
        "cpu": projection(len(tokens), app_cpu, pg_cpu),
    }


def bench_answer(env: dict[str, str], customers) -> dict:
    from surveys.models import Response

    tokens = make_links(customers)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [
            str(VENV_BIN / "gunicorn"),
            "cshub.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=4",
            "--worker-class=sync",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=LOG.open("a"),
    )
    try:

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False

        if not wait_until(up, timeout=30, what="gunicorn to listen"):
            return {"ok": False}
        # Warm every worker (imports, DB connection) on tokens not counted in the measurement.
        warm = tokens[:40]
        post_answers((port, warm))
        measured = tokens[40:]
        if WRK:
            run = drive_with_wrk(port, measured, server.pid)
        else:
            run = drive_with_python(port, measured, server.pid)
        stored = Response.objects.filter(
            invitation__campaign__question="How likely are you to recommend us?"
        ).count()
        return {
            **run,
            # Requests still in flight when wrk's clock stops are stored but not counted as answered.
            "ok": run["errors"] == 0 and 0 <= stored - run["answered"] - len(warm) <= WRK_CONNECTIONS,
            "stored": stored,
            "expected_stored": run["answered"] + len(warm),
        }
    finally:
        stop(server)


def child() -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    admin, send_customers, answer_customers = make_data()
    total = len(send_customers) + len(answer_customers)
    print(f"  data: {total:,} customers x {CONTACTS_PER_CUSTOMER} contacts")

    send = (
        {"ok": True} if os.environ.get("BENCH_SKIP_SEND") == "1" else bench_send(env, admin, send_customers)
    )
    if os.environ.get("BENCH_SKIP_SEND") == "1":
        print("  send: skipped (BENCH_SKIP_SEND=1)")
    elif send.get("queued"):
        verdict = "PASS" if send["ok"] and send["elapsed_s"] <= SEND_TARGET_S else "FAIL"
        print(
            f"  send {send['queued']:,} invitations, 2 worker processes: {send['elapsed_s']:.1f} s "
            f"(queueing {send['queue_s']:.1f} s; {send['queued'] / send['elapsed_s']:,.0f} emails/s); "
            f"sink got {send['emails']:,}, {send['marked_sent']:,} marked sent; "
            f"target <= {SEND_TARGET_S:.0f} s "
            f"-> {verdict} (ratio {SEND_TARGET_S / send['elapsed_s']:.2f}x)"
        )
        print(f"    {send['cpu']} (load average now {os.getloadavg()[0]:.1f})")
    else:
        print("  send: FAIL (workers did not start)")

    answer = bench_answer(env, answer_customers)
    if answer.get("requests"):
        verdict = "PASS" if answer["ok"] and answer["rps"] >= ANSWER_TARGET_RPS else "FAIL"
        print(
            f"  answer POST on gunicorn x4: {answer['requests']:,} requests in {answer['elapsed_s']:.1f} s = "
            f"{answer['rps']:,.0f} req/s, {answer['errors']} errors {answer['samples'] or ''}; "
            f"{answer['stored']:,}/{answer['expected_stored']:,} responses stored; "
            f"target >= {ANSWER_TARGET_RPS:.0f} req/s -> {verdict} "
            f"(ratio {answer['rps'] / ANSWER_TARGET_RPS:.2f}x)"
        )
        print(f"    client: {answer['client']}; {answer['latency']}")
        print(f"    {answer['cpu']} (load average now {os.getloadavg()[0]:.1f})")
    else:
        print("  answer: FAIL (gunicorn did not start)")
    ok = send.get("ok") and answer.get("ok")
    return 0 if ok else 1


def main() -> int:
    """Run in a fresh interpreter: bench/run.py may already have set Django up for another benchmark."""
    env = {**bench_env(), "BENCH_SURVEYS_CHILD": "1"}
    print(f"bench_surveys on {urlparse(env['DATABASE_URL']).path[1:]} (cpus: {os.cpu_count()})", flush=True)
    return subprocess.run(  # noqa: S603
        [sys.executable, __file__], env=env, cwd=ROOT, check=False, timeout=900
    ).returncode


if __name__ == "__main__":
    if os.environ.get("BENCH_SURVEYS_CHILD") == "1":
        sys.exit(child())
    code = main()
    if code:
        print(f"bench_surveys: exit code {code}")
