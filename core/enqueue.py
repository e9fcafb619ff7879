"""How a service queues Celery work without importing its app's tasks module (docs/architecture.md).

Tasks call services (`<app>.tasks` imports `<app>.services`); a service importing the tasks back would make
the two import each other. So a service that must queue work names the task, and this module finds it in
Celery's registry:

- The object found is the task the tasks module defines, so `.delay` means what it means everywhere: the task
  runs inline under CELERY_TASK_ALWAYS_EAGER (development, tests), else it goes to the broker. Not
  `send_task(name)`: that always publishes, even in eager mode, where no worker would ever run it.
- A worker imports every app's tasks module when it starts (autodiscovery); a web process imports none. The
  first lookup of a name not registered yet runs that same autodiscovery, once per process.
- `delay_on_commit` is `Task.delay_on_commit`: queued only if the transaction commits, and only once it has,
  so the worker finds the rows.

Each app keeps a small `enqueue.py` of typed, named functions over these two, so a call site reads as what it
queues.
"""

from __future__ import annotations

import functools
from typing import Any

from celery import Task, current_app
from django.db import transaction


def task_named(name: str) -> Task:
    """The registered Celery task called `name` (dotted path of its function)."""
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]


def delay(name: str, *args: Any) -> None:
    """Queue task `name` now (inline when tasks run eagerly)."""
    task_named(name).delay(*args)


def delay_on_commit(name: str, *args: Any) -> None:
    """Queue task `name` once the current transaction has committed (never if it rolls back)."""
    transaction.on_commit(functools.partial(task_named(name).delay, *args))
