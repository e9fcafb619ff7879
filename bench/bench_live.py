"""Live data at scale (docs/health.md#live-data), on PostgreSQL with a real Celery worker.

It builds (or reuses with --reuse) a database `cshub_bench_live` with bench_health's generator, its 60 days
of data ending today (the live recompute computes today), then measures:

First, untimed, the state a live day starts from: today's snapshot of every customer, and the answer triggers'
cursors at the newest answer (the 5-minute fast evaluation has seen the generated history).

1. **Write path.** A pulse written and committed with and without the dirty mark (one statement) and the
   kick after commit, interleaved: added ms per write; and the kick alone in its three cases (a task this
   process queued and that cannot have started: no round trip; the key in Redis with its task due: add
   refused, then get; the first write of a burst: add, then the task published).
2. **CPU per customer**, in this process, counting this process and its PostgreSQL backend (/proc). First
   relative usage's hourly anchor for the live path (docs/health.md#live-data): built (the whole base's
   usage, once an hour for all processes) and loaded from the cache (once an hour per process). Then the
   same work on both sides: the nightly chunk (5,000 customers, warm) against the live path on batches of
   dirty customers (10, 50, 100, 200, 1,000) for the recompute alone; and the chunk followed by the live
   conditions' evaluation for its customers (rolled back) against the live batches with their evaluation.
3. **Latency with a real worker** (`celery worker -c 2`): a stream of factor-changing writes spread over
   random customers (default 1,000 a minute for 120 s: pulses, and every tenth an NPS detractor answer,
   which starts the starter library's detractor follow-up), then p50/p95/max from commit to the updated
   snapshot (its computed_at; a customer's last write, since the snapshot keeps only its last computation:
   from the first write, a customer written twice 100 s apart read as a 100 s latency, the 43 to 112 s
   maxima reported before 2026-12-08) and from commit to the run (the first answer), and the worker's CPU
   per recomputed customer (its Python processes and their PostgreSQL backends), split by what it did:
   the worker runs `bench/live_probe.py`, cshub's app plus each task's CPU and its backend's, the live
   task's recompute, trigger evaluation and runs started apart. The hour's anchor is built before the
   worker starts (by the CPU part, or here): the stream's worker processes load it; a stream that crosses
   an hour also builds the next one, and says so.

Targets (issue 17): p95 commit → snapshot ≤ 60 s (goal ≤ 10 s), p95 → run ≤ 90 s, live CPU per customer ≤ 3
times the nightly chunk's, the write path's added latency ≤ 2 ms.

Last figures (2026-12-08, 100,000 customers, the shared 2-core machine; all of them in
docs/health.md#live-data): the stream's worker 2.63 ms CPU per recomputed customer with its backends measured
per task (3.9 to 4.7 ms before this date's changes, which the 0.5 s sampling of the backends read as 2.9 to
3.5), 8.2 x the warm nightly chunk's 0.32 ms (10.7 to 13.8 x before); the same work (recompute and
evaluation) 4.1 x the chunk with its evaluation (5.0 to 6.3 x before); batches of ~132 customers; commit ->
snapshot p95 7.8 s, -> run p95 7.8 s (the busy debounce; 4.9 s before); the write path +0.44 ms (+0.41
before).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub REDIS_URL=redis://127.0.0.1:6379/6 \
       python bench/bench_live.py [--customers 100000] [--events-per-100k 10000000] [--rate 1000]
       [--seconds 120] [--reuse] [--parts write,cpu,stream]
Through `bench/run.py live`: BENCH_LIVE_DB, BENCH_LIVE_REUSE=1 and BENCH_LIVE_PARTS stand for the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_health as gen

ROOT = Path(__file__).resolve().parent.parent
gen.DB_NAME = os.environ.get("BENCH_LIVE_DB", "cshub_bench_live")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes, from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / TICKS


def backend_pid() -> int:
    return gen._scalar("SELECT pg_backend_pid()")


class BackendCpu(threading.Thread):
    """CPU of the PostgreSQL backends serving other processes than this one (the worker's), sampled from
    /proc every 0.5 s: a backend that ends between samples (CONN_MAX_AGE) loses at most its last 0.5 s."""

    def __init__(self, db_url: str, exclude: list[int]) -> None:
        super().__init__(daemon=True)
        self.db_url, self.exclude = db_url, set(exclude)
        self.start_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self.stopping = threading.Event()

    def _sample(self, conn, first: bool) -> None:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        for (pid,) in rows:
            if pid in self.exclude:
                continue
            cpu = cpu_of([pid])
            if first:
                self.start_cpu[pid] = cpu
            self.last_cpu[pid] = max(cpu, self.last_cpu.get(pid, 0.0))

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            self._sample(conn, first=True)
            while not self.stopping.wait(0.5):
                self._sample(conn, first=False)
            self._sample(conn, first=False)

    def stop(self) -> float:
        self.stopping.set()
        self.join(timeout=10)
        return sum(cpu - self.start_cpu.get(pid, 0.0) for pid, cpu in self.last_cpu.items())


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def write_path(customer_ids: list[int], n: int = 400) -> None:
    """Added latency of a write: a pulse written and committed with and without its dirty mark and kick,
    interleaved; then the kick alone in each of its cases (accounts.dirty.kick)."""
    from django.core.cache import cache
    from django.db import transaction

    from accounts import dirty
    from accounts.models import DirtyCustomer, Pulse
    from cshub.celery import app

    plain, marked, marks = [], [], []
    rng = random.Random(1)
    written = []
    dirty.kick_taken()
    for i in range(2 * n):
        cid = rng.choice(customer_ids)
        t0 = time.perf_counter()
        with transaction.atomic():
            written.append(Pulse.objects.create(customer_id=cid, score=3).pk)
            if i % 2:
                t1 = time.perf_counter()
                dirty.customers_mark_dirty(customer_ids=[cid])
                marks.append(time.perf_counter() - t1)
        (marked if i % 2 else plain).append(time.perf_counter() - t0)  # incl. commit and the kick on commit

    def kicks(prepare) -> list[float]:
        took = []
        for _ in range(n):
            prepare()
            t = time.perf_counter()
            dirty.kick()
            took.append(time.perf_counter() - t)
        return took

    dirty.kick_taken()
    t = time.perf_counter()
    dirty.kick()  # the first write of a burst: the key set in the cache, the task published
    first = time.perf_counter() - t
    known = kicks(lambda: None)  # a task this process queued, not started: no round trip

    def unknown() -> None:  # the key set by another process, its task's ETA passed (about to start)
        dirty.kick_taken()
        cache.set(dirty.KICK_KEY, time.time() - 1)

    fetched = kicks(unknown)
    dirty.kick_taken()
    app.control.purge()
    Pulse.objects.filter(pk__in=written).delete()
    DirtyCustomer.objects.all().delete()
    ms = 1000
    print(
        f"  the mark alone (one statement)                   p50 {p(marks, 0.5) * ms:6.2f} ms  "
        f"p95 {p(marks, 0.95) * ms:6.2f} ms\n"
        f"  a pulse write + commit, without / with mark+kick p50 {p(plain, 0.5) * ms:6.2f} / "
        f"{p(marked, 0.5) * ms:6.2f} ms (+{(p(marked, 0.5) - p(plain, 0.5)) * ms:.2f})  "
        f"p95 {p(plain, 0.95) * ms:6.2f} / {p(marked, 0.95) * ms:6.2f} ms\n"
        f"  the kick: its task queued by this process, not started (no round trip) p50 "
        f"{p(known, 0.5) * ms:6.3f} ms\n"
        f"            the key there, its task due (add refused, then get)        p50 "
        f"{p(fetched, 0.5) * ms:6.3f} ms  p95 {p(fetched, 0.95) * ms:6.3f} ms\n"
        f"            the first of a burst (add, then the task published)         {first * ms:6.3f} ms",
        flush=True,
    )


def nightly_evaluation_cpu(today: dt.date, pids: list[int], customer_ids: list[int]) -> float:
    """CPU per customer of evaluating the live conditions (playbooks.evaluation.LIVE) for a nightly chunk's
    customers, 5,000 at once (the nightly hook evaluates everyone at once: at 100,000 customers that starts
    a red-health rescue for every red customer that never had one, minutes of work; a chunk's share of it is
    the same SQL over the chunk's ids). In a transaction then rolled back, so the live batches measured next
    find the same state (docs/operations.md#live-data)."""
    from django.db import transaction

    from playbooks.evaluation import triggers_evaluate_live

    c0 = cpu_of(pids)
    with transaction.atomic():
        done = triggers_evaluate_live(day=today, customer_ids=customer_ids)
        transaction.set_rollback(True)
    cpu = cpu_of(pids) - c0
    print(
        f"  its customers' live conditions evaluated at once ({done.total_started:,} runs started, rolled "
        f"back)  {cpu / len(customer_ids) * 1000:7.3f} ms CPU per customer",
        flush=True,
    )
    return cpu / len(customer_ids)


def relative_usage_anchor(today: dt.date, pids: list[int], writes_per_minute: int = 1000) -> None:
    """Relative usage's hourly anchor for the live path (docs/health.md#live-data): CPU (this process and its
    backend) and wall time of building it (the whole base's usage, once an hour for all processes) and of
    loading it from the cache (once an hour per worker process); its size in the cache."""
    import pickle

    from metrics.health.factors import relative_usage

    relative_usage.forget(shared=True)
    c0, t0 = cpu_of(pids), time.perf_counter()
    anchor = relative_usage.live_anchor(today)
    built_cpu, built_s = cpu_of(pids) - c0, time.perf_counter() - t0
    relative_usage.forget()  # this process's copy only: as a fresh worker process
    c0, t0 = cpu_of(pids), time.perf_counter()
    relative_usage.live_anchor(today)
    loaded_cpu, loaded_s = cpu_of(pids) - c0, time.perf_counter() - t0
    per_hour = writes_per_minute * 60
    print(
        f"  relative usage's hourly anchor ({len(anchor.ids):,} customers, "
        f"{len(pickle.dumps(anchor)) / 1e6:.1f} MB in the cache): built {built_s:.2f} s, {built_cpu:.2f} s "
        f"CPU (once an hour: {built_cpu / per_hour * 1000:.3f} ms a write at {writes_per_minute:,} "
        f"writes/min); loaded by a process {loaded_s * 1000:.0f} ms, {loaded_cpu * 1000:.0f} ms CPU "
        "(once an hour per process)",
        flush=True,
    )


def cpu_per_customer(
    customer_ids: list[int], today: dt.date
) -> tuple[float, float, dict[int, tuple[float, float]]]:
    """Nightly chunk vs live batches, CPU of this process + its PostgreSQL backend, per customer: recompute
    alone on both sides, and recompute + the live conditions' trigger evaluation on both sides."""
    from django.conf import settings

    from accounts.dirty import customers_mark_dirty
    from accounts.models import DirtyCustomer
    from metrics.health.factors.relative_usage import distribution
    from metrics.health.live import health_live_recompute
    from metrics.health.services import customer_id_chunks, health_chunk_recompute, health_model_current

    model_id = health_model_current().pk
    pids = [os.getpid(), backend_pid()]
    relative_usage_anchor(today, pids)  # the live path's hourly anchor, built and loaded (drops the memo)
    distribution(today)  # warm: the exact path reads the population once per process and day
    chunks = customer_id_chunks()
    nightly, evaluation = [], []
    for lo, hi in chunks[1:3] or chunks[:1]:
        c0 = cpu_of(pids)
        n = health_chunk_recompute(day=today, model_id=model_id, lo=lo, hi=hi)
        nightly.append((cpu_of(pids) - c0) / n)
        print(f"  nightly chunk (5,000 customers, warm)  {nightly[-1] * 1000:7.3f} ms CPU per customer")
        evaluation.append(nightly_evaluation_cpu(today, pids, [c for c in customer_ids if lo <= c <= hi]))
    per_nightly = statistics.mean(nightly)
    per_nightly_all = per_nightly + statistics.mean(evaluation)
    print(
        f"  nightly, mean: chunk {per_nightly * 1000:.3f}, chunk + evaluation "
        f"{per_nightly_all * 1000:.3f} ms CPU per customer",
        flush=True,
    )
    rng = random.Random(2)
    live: dict[int, tuple[float, float]] = {}
    saved = settings.CSHUB_AFTER_LIVE_RECOMPUTE
    for size in (10, 50, 100, 200, 1000):
        results = []
        for with_triggers in (False, True):
            DirtyCustomer.objects.all().delete()
            customers_mark_dirty(customer_ids=rng.sample(customer_ids, size))
            settings.CSHUB_AFTER_LIVE_RECOMPUTE = saved if with_triggers else []
            try:
                c0 = cpu_of(pids)
                done = health_live_recompute(day=today)
                results.append((cpu_of(pids) - c0) / done.customers)
            finally:
                settings.CSHUB_AFTER_LIVE_RECOMPUTE = saved
        live[size] = (results[0], results[1])
        print(
            f"  live batch of {size:>5,}: recompute {results[0] * 1000:7.3f} ms/customer "
            f"(x{results[0] / per_nightly:4.1f} the nightly chunk); with the live evaluation "
            f"{results[1] * 1000:7.3f} (x{results[1] / per_nightly_all:4.1f} the nightly chunk + evaluation, "
            f"x{results[1] / per_nightly:4.1f} the chunk alone)",
            flush=True,
        )
    return per_nightly, per_nightly_all, live


def stream(
    db_url: str, customer_ids: list[int], *, rate: int, seconds: int, per_nightly: tuple[float, float]
) -> None:
    """Writes at `rate` a minute for `seconds` against a real worker; latencies and worker CPU."""
    from django.core.cache import cache
    from django.db import connection
    from django.utils import timezone

    from accounts.dirty import KICK_KEY
    from accounts.models import Customer, DirtyCustomer, User
    from accounts.services import pulse_log
    from cshub.celery import app
    from metrics.health.factors import relative_usage
    from metrics.models import HealthSnapshot
    from playbooks.models import Run
    from surveys.services.imports import responses_import

    admin = User.objects.filter(role="admin").first() or User.objects.create_user(
        email="bench-admin@example.com", password=None, role="admin"
    )
    relative_usage.live_anchor(timezone.localdate())  # the hour's anchor, if no earlier part built it
    hour = int(time.time() // relative_usage.ANCHOR_SECONDS)
    DirtyCustomer.objects.all().delete()
    cache.delete(KICK_KEY)
    app.conf.task_always_eager = False
    app.control.purge()
    import tempfile

    probe_dir = tempfile.mkdtemp(prefix="bench-live-probe-")
    worker = gen.start_worker(  # cshub's app with the CPU split by task (bench/live_probe.py)
        db_url,
        app="live_probe",
        extra_env={
            "BENCH_LIVE_PROBE_DIR": probe_dir,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "bench"), os.environ.get("PYTHONPATH")])),
        },
    )
    worker_pids = lambda: gen.RssSampler(worker.pid)._tree()  # noqa: E731
    rng = random.Random(time.time_ns())  # other customers than a previous run's (their runs are open)
    # The snapshot keeps only its last computation, so a customer's commit -> snapshot is measured from its
    # last write (a customer written twice, 100 s apart, is not a 100 s latency); a run starts at its first
    # detractor answer (a later one finds it open), so commit -> run is measured from the first.
    pulses: dict[int, float] = {}  # every written customer (pulse or answer): its last write
    answers: dict[int, float] = {}  # customers with an answer: their first
    writes: dict[int, int] = {}
    first: dict[int, float] = {}  # the first write: what this bench measured from before (2026-12-07)
    externals = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "external_id"))
    interval = 60.0 / rate
    stream_began = timezone.now()
    backends = BackendCpu(db_url, exclude=[backend_pid()])
    backends.start()
    try:
        cpu0 = cpu_of(worker_pids())
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            cid = rng.choice(customer_ids)
            if n % 10 == 9:
                responses_import(
                    rows=[
                        {
                            "customer": externals[cid],
                            "contact_email": f"bench{n}@b{cid}.example",
                            "kind": "nps",
                            "score": 2,
                            "answered_at": timezone.now(),
                        }
                    ]
                )
                answers.setdefault(cid, time.time())
            else:
                customer = Customer(pk=cid, csm_id=None)
                pulse_log(user=admin, customer=customer, score=rng.randint(1, 5))
            pulses[cid] = time.time()
            first.setdefault(cid, pulses[cid])
            writes[cid] = writes.get(cid, 0) + 1
            n += 1
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        print(f"  {n:,} writes in {time.monotonic() - start:.0f} s ({rate:,}/min)", flush=True)
        deadline = time.monotonic() + 300
        while DirtyCustomer.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # the last batch's evaluation
        cpu = cpu_of(worker_pids()) - cpu0
        backend_cpu = backends.stop()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    connection.close()
    probed_backends = split_print(probe_dir, cpu, len(pulses))
    import json

    for path in Path(probe_dir).glob("backends-*.json"):  # the two measures of each backend, side by side
        for pid, (first_cpu, last_cpu) in json.loads(path.read_text()).items():
            sampled = backends.last_cpu.get(int(pid), 0.0) - backends.start_cpu.get(int(pid), 0.0)
            print(
                f"    backend {pid}: seen by the tasks from {first_cpu:.2f} to {last_cpu:.2f} s CPU; "
                f"sampled: {backends.start_cpu.get(int(pid), 0.0):.2f} to "
                f"{backends.last_cpu.get(int(pid), 0.0):.2f} s ({sampled:.2f} s)",
                flush=True,
            )
    today = timezone.localdate()
    computed = dict(
        HealthSnapshot.objects.filter(date=today, customer_id__in=list(pulses)).values_list(
            "customer_id", "computed_at"
        )
    )
    snap_lat = [computed[c].timestamp() - t for c, t in pulses.items() if c in computed]
    began = stream_began.timestamp()
    steady = [computed[c].timestamp() - t for c, t in pulses.items() if c in computed and t - began > 30]
    started = dict(
        Run.objects.filter(
            customer_id__in=list(answers), reason__startswith="NPS detractor", started_at__gte=stream_began
        ).values_list("customer_id", "started_at")
    )
    run_lat = [started[c].timestamp() - t for c, t in answers.items() if c in started]
    recomputed = len(pulses)
    late = sorted((computed[c].timestamp() - t, c) for c, t in pulses.items() if c in computed)[::-1]
    from_first = [computed[c].timestamp() - t for c, t in first.items() if c in computed]
    print(
        f"  customers written more than once: {sum(1 for w in writes.values() if w > 1):,}; slowest: "
        + ", ".join(f"{lat:.1f} s ({writes[c]} writes)" for lat, c in late[:5])
        + f"; measured from the first write instead: max {max(from_first, default=float('nan')):.1f} s",
        flush=True,
    )
    print(
        f"  commit (last write) -> snapshot: {len(snap_lat):,} of {len(pulses):,}  "
        f"p50 {p(snap_lat, 0.5):5.1f} s  "
        f"p95 {p(snap_lat, 0.95):5.1f} s  max {max(snap_lat, default=float('nan')):5.1f} s\n"
        f"  after the first 30 s (the worker's processes warm): p50 {p(steady, 0.5):5.1f} s  "
        f"p95 {p(steady, 0.95):5.1f} s  max {max(steady, default=float('nan')):5.1f} s\n"
        f"  commit -> run:      {len(run_lat):,} of {len(answers):,}  p50 {p(run_lat, 0.5):5.1f} s  "
        f"p95 {p(run_lat, 0.95):5.1f} s  max {max(run_lat, default=float('nan')):5.1f} s\n"
        f"  worker CPU for {recomputed:,} customers: Python (all processes) {cpu:.1f} s + its PostgreSQL "
        f"backends {backend_cpu:.1f} s = {1000 * (cpu + backend_cpu) / max(1, recomputed):.2f} ms a customer "
        f"(nightly, process + backend: chunk {per_nightly[0] * 1000:.2f}, chunk + evaluation "
        f"{per_nightly[1] * 1000:.2f}); with the backends measured per task: "
        f"{1000 * (cpu + probed_backends) / max(1, recomputed):.2f} ms; this includes each worker process's "
        "load of relative usage's hourly "
        f"anchor, and "
        + (
            "one build of it (the stream crossed an hour)"
            if int(time.time() // relative_usage.ANCHOR_SECONDS) != hour
            else "not its build (done before the stream in this hour, once an hour for all processes)"
        ),
        flush=True,
    )


def split_print(probe_dir: str, python: float, customers: int) -> float:
    """The worker's CPU split by what it did (bench/live_probe.py: each task's Python and PostgreSQL
    backend CPU, the live task's parts apart), per stream customer; the rest is Celery's own work (the
    main process's broker loop, task dispatch). Returns the backends' CPU measured per task (start and end
    of each task, from /proc), which is higher than the 0.5 s sampling of pg_stat_activity's backends
    (BackendCpu) finds, for reasons not pinned down: the per-task figure is the one the split adds up."""
    import json

    rows: dict[str, list[float]] = {}
    for path in Path(probe_dir).glob("probe-*.json"):
        for name, (py, backend, count) in json.loads(path.read_text()).items():
            row = rows.setdefault(name, [0.0, 0.0, 0])
            row[0], row[1], row[2] = row[0] + py, row[1] + backend, row[2] + count
    if not rows:
        print("  (no CPU split: the probe wrote nothing)", flush=True)
        return float("nan")
    backends = sum(row[1] for name, row in rows.items() if name.startswith("task "))
    total = python + backends
    get = lambda name: rows.get(name, [0.0, 0.0, 0])  # noqa: E731
    live, recompute = get("task metrics.tasks.health_recompute_live"), get("live: recompute")
    evaluation, runs = get("live: evaluation"), get("live: evaluation: runs started")
    parts = [
        ("recompute (health_customers_recompute)", recompute[0] + recompute[1], recompute[2]),
        (
            "trigger evaluation, without the runs it starts",
            (sum(evaluation[:2]) - sum(runs[:2])),
            evaluation[2],
        ),
        ("runs started (runs_create: tasks, events, notifications)", sum(runs[:2]), runs[2]),
        (
            "the live task's per-batch rest (claim, clear, anchor, model)",
            sum(live[:2]) - sum(recompute[:2]) - sum(evaluation[:2]),
            live[2],
        ),
    ]
    for name, row in sorted(rows.items()):
        if name.startswith("task ") and name != "task metrics.tasks.health_recompute_live":
            parts.append((name[5:], row[0] + row[1], row[2]))
    counted = sum(cpu for _, cpu, _ in parts)
    parts.append(("Celery's own work and the rest (total minus the above)", total - counted, 0))
    ms = 1000 / max(1, customers)
    print(f"  the worker's CPU split, ms per stream customer ({customers:,}), Python + backend:", flush=True)
    for name, cpu, count in parts:
        print(f"    {name:<64} {cpu * ms:6.3f}" + (f"  ({count:,} calls)" if count else ""), flush=True)
    same = sum(recompute[:2]) + sum(evaluation[:2])
    print(f"    {'the same work as the chunk + evaluation (recompute + evaluation)':<64} {same * ms:6.3f}")
    print(
        f"    {'total: Python (all processes, /proc) + backends (per task)':<64} {total * ms:6.3f}  "
        f"({python:.1f} + {backends:.1f} s)",
        flush=True,
    )
    return backends


def steady_cursors() -> None:
    """The state a live day starts from: the 5-minute fast evaluation has seen every answer so far (the
    answer triggers' cursors at the newest answer). Without it every live evaluation would start a detractor
    run for each customer with a low answer in the generated history (two in three customers), work that the
    first sweep of a real day does once, not the live path per write."""
    from playbooks import triggers
    from playbooks.models import Trigger

    for trigger in Trigger.objects.all():
        module = triggers.MODULES.get(trigger.condition)
        if module is not None and hasattr(module, "cursor_upto"):
            Trigger.objects.filter(pk=trigger.pk).update(cursor=module.cursor_upto())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_LIVE_CUSTOMERS", 100_000)))
    parser.add_argument("--events-per-100k", type=int, default=gen.PER_100K["events"])
    parser.add_argument("--rate", type=int, default=1000, help="writes per minute")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument(
        "--reuse",
        action="store_true",
        default=os.environ.get("BENCH_LIVE_REUSE") == "1",
        help="keep the data",
    )
    parser.add_argument(
        "--parts",
        default=os.environ.get("BENCH_LIVE_PARTS", "write,cpu,stream"),
        help="which measurements, comma-separated: write, cpu, stream",
    )
    args, _rest = parser.parse_known_args(argv)
    gen.PER_100K["events"] = args.events_per_100k
    admin_url, db_url = gen._urls()
    os.environ["EMAIL_URL"] = "dummymail://"  # the runs' emails: built, not printed (worker included)
    gen._setup_django(db_url)
    from django.db import connections
    from django.utils import timezone

    today = timezone.localdate()
    gen.DAY = today  # the data's 60 days end today: the live recompute computes today
    if args.reuse and gen._existing_customers(admin_url) == args.customers:
        print(f"-- {args.customers:,} customers: reusing {gen.DB_NAME}", flush=True)
    else:
        connections.close_all()
        gen._recreate_database(admin_url)
        print(f"-- {args.customers:,} customers: generating ({gen.DB_NAME})", flush=True)
        gen.generate(args.customers)
    from accounts.models import Customer, DirtyCustomer
    from metrics.health.services import health_recompute

    # Established customers (a contract a year old), so the onboarding trigger does not fire for everyone.
    gen._sql("UPDATE accounts_customer SET contract_start = %s", [today - dt.timedelta(days=400)])
    steady_cursors()
    DirtyCustomer.objects.all().delete()
    customer_ids = list(Customer.objects.values_list("pk", flat=True))
    from metrics.models import HealthSnapshot

    print("\n== today's snapshots for everyone (untimed: the state a live day starts from)", flush=True)
    if HealthSnapshot.objects.filter(date=today).count() < len(customer_ids):
        t0 = time.perf_counter()
        health_recompute(day=today, run_hooks=False)
        print(f"  {time.perf_counter() - t0:.0f} s", flush=True)
    else:
        print("  there already (--reuse)", flush=True)
    parts = set(args.parts.split(","))
    if "write" in parts:
        print("\n== write path", flush=True)
        write_path(customer_ids)
    per_nightly = per_nightly_all = float("nan")
    if "cpu" in parts:
        print("\n== CPU per customer (this process + its PostgreSQL backend)", flush=True)
        per_nightly, per_nightly_all, _live = cpu_per_customer(customer_ids, today)
    if "stream" in parts:
        print(
            f"\n== stream against a real worker (-c 2): {args.rate:,} writes/min for {args.seconds} s",
            flush=True,
        )
        stream(
            db_url,
            customer_ids,
            rate=args.rate,
            seconds=args.seconds,
            per_nightly=(per_nightly, per_nightly_all),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
