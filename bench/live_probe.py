"""bench_live's worker app: cshub's Celery app, plus a split of the worker's CPU by what it did
(docs/operations.md#live-data). Started by bench_live's stream as `celery -A live_probe worker`; not used
anywhere else.

Each task's CPU, Python (this process) and its PostgreSQL backend (/proc, same host), is added to its task's
name; inside the live recompute, the recompute of a batch, the trigger evaluation after it and, within that,
the runs it starts are counted apart. Totals go to a JSON file per worker process in BENCH_LIVE_PROBE_DIR
after each task; bench_live sums them.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

from celery.signals import task_postrun, task_prerun

from cshub.celery import app  # noqa: F401 - the worker's app

TICKS = os.sysconf("SC_CLK_TCK")
OUT = Path(os.environ["BENCH_LIVE_PROBE_DIR"])
totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])  # python s, backend s, count
_started: list = []


def _backend() -> tuple[int | None, float]:
    from django.db import connection

    if connection.connection is None:
        return None, 0.0
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return pid, (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError):
        return pid, 0.0


def _mark() -> tuple[float, int | None, float]:
    pid, cpu = _backend()
    return time.process_time(), pid, cpu


seen: dict[int, list[float]] = {}  # backend pid: [CPU when first seen, CPU when last seen]


def _add(name: str, began: tuple[float, int | None, float]) -> None:
    cpu0, pid0, back0 = began
    cpu1, pid1, back1 = _mark()
    for pid, cpu in ((pid0, back0), (pid1, back1)):
        if pid is not None:
            seen.setdefault(pid, [cpu, cpu])[1] = cpu
    backend = back1 - back0 if pid1 == pid0 else back1  # a new connection: its whole life so far
    row = totals[name]
    row[0] += cpu1 - cpu0
    row[1] += max(0.0, backend)
    row[2] += 1


@task_prerun.connect
def _prerun(**_kwargs) -> None:
    _started.append(_mark())


@task_postrun.connect
def _postrun(task=None, **_kwargs) -> None:
    if _started:
        _add(f"task {task.name}", _started.pop())
    (OUT / f"probe-{os.getpid()}.json").write_text(json.dumps(totals))
    (OUT / f"backends-{os.getpid()}.json").write_text(json.dumps(seen))


def _timed(name: str, fn):
    def wrapper(*args, **kwargs):
        began = _mark()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(name, began)

    return wrapper


def _install() -> None:
    import django

    django.setup()
    from metrics.health import live
    from playbooks import evaluation

    live.health_customers_recompute = _timed("live: recompute", live.health_customers_recompute)
    live.health_live_recompute_finished = _timed("live: evaluation", live.health_live_recompute_finished)
    evaluation.runs_create = _timed("live: evaluation: runs started", evaluation.runs_create)


_install()
