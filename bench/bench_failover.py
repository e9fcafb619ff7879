"""Failure rules at scale (docs/operations.md#failure-rules), with real processes: a redis-server of its own,
`celery worker` and `celery beat` subprocesses, 5,000 customers. Prints:

- broker return → delivery: a campaign and a playbook run posted while Redis is down (answer time), then
  Redis, a worker and beat start; how long until the invitations are sent and the run notified (the outbox
  sweeper runs every minute);
- nightly completed after a beat miss: beat never sent last night's recompute; how long after Redis's return
  until the catch-up check (every 15 minutes) has recomputed and evaluated it;
- nightly completed after a group kill: the worker's whole process group is killed with the day's chunks in
  flight; how long until the day is complete (visibility_timeout, CELERY_VISIBILITY_TIMEOUT, default 600 s).

Takes up to ~30 minutes of wall time (it waits for real beat ticks and the real visibility timeout).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import recreate_database, setup_django

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "5000"))
ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="cshub-failover-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
REDIS = f"redis://127.0.0.1:{PORT}/0"


def redis_start() -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603 - fixed command
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(TMP),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def celery(*args: str, env: dict[str, str]) -> subprocess.Popen:
    log = (TMP / f"{args[0]}-{time.monotonic():.0f}.log").open("w")
    return subprocess.Popen(  # noqa: S603 - fixed command
        [sys.executable, "-m", "celery", "-A", "cshub", *args, "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def wait_until(predicate, *, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(1)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def main() -> None:
    url = recreate_database(script="bench_failover.py", default_name="cshub_bench_failover")
    os.environ.update(REDIS_URL=REDIS, CELERY_TASK_ALWAYS_EAGER="0", EMAIL_URL="")
    setup_django(url)
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Contact, Customer, Role, Team
    from metrics.health.nightly import nightly_day
    from metrics.models import HealthDayRun, HealthSnapshot
    from metrics.tasks import health_recompute_day
    from playbooks.models import Playbook, Run, Step
    from surveys.models import Invitation, InvitationState
    from tests.factories import UserFactory

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "CSHUB_TESTING": "0",
        "DJANGO_SETTINGS_MODULE": "cshub.settings",
    }
    manager = UserFactory(email="bench-lead@example.com", role=Role.MANAGER)
    csm = UserFactory(email="bench-csm@example.com", role=Role.CSM)
    Team.objects.create(name="Bench", manager=manager).members.add(csm)
    Customer.objects.bulk_create(
        Customer(external_id=f"F-{i:06}", name=f"Customer {i}", csm=csm) for i in range(CUSTOMERS)
    )
    first = list(Customer.objects.order_by("pk")[:50])
    Contact.objects.bulk_create(Contact(customer=c, email=f"c{c.pk}@example.com", name="Pat") for c in first)
    playbook = Playbook.objects.create(name="Bench rescue", purpose="Bench.")
    Step.objects.create(playbook=playbook, order=1, title="Call", due_after_days=2)
    client = Client()
    client.force_login(manager)

    # --- 1. Broker down while requests commit; then back -------------------------------------------
    started = time.monotonic()
    campaign = client.post(
        "/api/v1/survey-campaigns/",
        {"kind": "nps", "customers": [c.external_id for c in first]},
        content_type="application/json",
    )
    run = client.post(
        "/api/v1/playbook-runs/",
        {"playbook": playbook.pk, "customer": first[0].external_id},
        content_type="application/json",
    )
    print(
        f"Redis down: campaign {campaign.status_code}, run {run.status_code},"
        f" both in {time.monotonic() - started:.1f} s"
    )
    redis = redis_start()
    back = time.monotonic()
    back_at = timezone.now()
    worker = celery("worker", "--concurrency=2", env=env)
    beat = celery("beat", "--schedule", str(TMP / "beat-schedule"), env=env)
    try:
        took = wait_until(
            lambda: (
                Invitation.objects.filter(state=InvitationState.SENT).count() == 50
                and Run.objects.filter(notified_at__isnull=False).exists()
            ),
            timeout=300,
            what="delivery",
        )
        print(
            f"broker return -> 50 invitations sent and the run notified: {took:.0f} s"
            f" (Redis back at {back_at:%H:%M:%S})"
        )

        # --- 2. Beat never sent last night's recompute --------------------------------------------
        day = nightly_day(timezone.now())
        took = wait_until(
            lambda: HealthDayRun.objects.filter(day=day, hooks_done_at__isnull=False).exists(),
            timeout=1200,
            what="the catch-up",
        )
        done = HealthDayRun.objects.get(day=day)
        print(
            f"beat miss: {day} recomputed ({HealthSnapshot.objects.filter(date=day).count()} snapshots) and"
            f" evaluated {(time.monotonic() - back) / 60:.1f} min after Redis's return (catch-up dispatched"
            f" at {timezone.localtime(done.dispatched_at):%H:%M:%S},"
            f" done {timezone.localtime(done.hooks_done_at):%H:%M:%S})"
        )

        # --- 3. The worker's whole process group killed with chunks in flight -------------------------
        kill_group(beat)  # no catch-up: this measures the broker handing the chunks back
        target = day - dt.timedelta(days=1)
        health_recompute_day.delay(target.isoformat(), None, 500)
        wait_until(
            lambda: HealthSnapshot.objects.filter(date=target).exists(), timeout=300, what="a first chunk"
        )
        kill_group(worker)
        killed = time.monotonic()
        at_kill = HealthSnapshot.objects.filter(date=target).count()
        worker = celery("worker", "--concurrency=2", env=env)
        took = wait_until(
            lambda: HealthDayRun.objects.filter(day=target, hooks_done_at__isnull=False).exists(),
            timeout=1500,
            what="the day after the kill",
        )
        print(
            f"group kill: {at_kill}/{CUSTOMERS} snapshots at the kill; day complete and evaluated"
            f" {took / 60:.1f} min later ({HealthSnapshot.objects.filter(date=target).count()} snapshots)"
        )
        del killed
    finally:
        for p in (beat, worker):
            kill_group(p)
        redis.terminate()
        print(f"logs: {TMP}")


if __name__ == "__main__":
    main()
