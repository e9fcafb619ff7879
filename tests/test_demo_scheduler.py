"""`make demo` is alive (docs/operations.md#the-demo-is-alive): its embedded scheduler runs the beat
schedule's jobs with no Redis. This starts the very command the Makefile's demo target starts, on a fresh
SQLite file, and sees the 5-minute job and the live recompute's sweep run in it."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def demo_scheduler_command() -> str:
    makefile = (ROOT / "Makefile").read_text()
    name = re.search(r"^DEMO_SCHEDULER := (\S+)$", makefile, re.M).group(1)
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "manage.py $(DEMO_SCHEDULER) &" in demo  # the demo target starts it beside runserver
    return name


@pytest.fixture
def demo_env(tmp_path):
    """The demo's environment (no REDIS_URL: no broker) on a migrated SQLite file."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CSHUB_TESTING")}
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", CSHUB_TESTING="0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrate = [*manage, "migrate", "--no-input", "-v0"]
    subprocess.run(migrate, env=env, check=True, cwd=ROOT, timeout=300)  # noqa: S603 - our manage.py
    setup = (
        "from accounts.models import Customer; from accounts.dirty import customers_mark_dirty; "
        "from django.db import transaction\n"
        "with transaction.atomic():\n"
        "    c = Customer.objects.create(external_id='DEMO-1', name='Demo Co')\n"
        "    customers_mark_dirty(customer_ids=[c.pk])\n"
    )
    subprocess.run([*manage, "shell", "-c", setup], env=env, check=True, cwd=ROOT, timeout=120)  # noqa: S603
    return env, tmp_path / "demo.sqlite3"


def test_the_demo_scheduler_runs_the_five_minute_job(demo_env):
    env, db = demo_env
    command = [sys.executable, str(ROOT / "manage.py"), demo_scheduler_command()]
    log = db.parent / "scheduler.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = log.read_text()
            if re.search(r"Task playbooks\.tasks\.evaluate_fast\[\S+\] succeeded", text) and re.search(
                r"Task metrics\.tasks\.health_recompute_live\[\S+\] succeeded", text
            ):
                break
            assert process.poll() is None, text
            time.sleep(0.5)
        else:
            pytest.fail(f"the 5-minute job did not run:\n{log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        evaluated = conn.execute(
            "SELECT COUNT(*) FROM playbooks_trigger WHERE last_evaluated_at IS NOT NULL "
            "AND condition IN ('nps_detractor', 'new_customer')"
        ).fetchone()[0]
        dirty = conn.execute("SELECT COUNT(*) FROM accounts_dirtycustomer").fetchone()[0]
        # Today's: the scheduler's catch-up check may also compute last night's (docs/operations.md#catch-up).
        snapshots = conn.execute(
            "SELECT COUNT(*) FROM metrics_healthsnapshot"
            " WHERE date = (SELECT MAX(date) FROM metrics_healthsnapshot)"
        ).fetchone()[0]
    assert evaluated >= 2  # the starter library's fast triggers were evaluated by the 5-minute job
    assert dirty == 0  # the sweep recomputed the dirty customer…
    assert snapshots == 1  # …into today's snapshot
    assert "no broker: eager tasks" in log.read_text()


def test_any_scheduled_job_runs_by_hand(db, capsys):
    from django.core.management import CommandError, call_command

    call_command("run_scheduler", "--list")
    listed = capsys.readouterr().out
    assert "playbooks-evaluate-fast: playbooks.tasks.evaluate_fast" in listed
    assert "health-live-sweep: metrics.tasks.health_recompute_live" in listed
    call_command("run_scheduler", "--run", "health-live-sweep")
    assert "health-live-sweep (metrics.tasks.health_recompute_live): 0" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No job 'nope'"):
        call_command("run_scheduler", "--run", "nope")
