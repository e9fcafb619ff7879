"""How playbooks' services queue Celery work without importing playbooks.tasks.

Tasks call services (playbooks.tasks imports the trigger evaluation, which starts runs through
playbooks.services); a service importing the tasks back would close that loop. So a service that must queue
work calls a function here, which finds the task by its name in Celery's registry:

- The object found is the task playbooks.tasks defines, so `.delay` means what it means everywhere: the task
  runs inline under CELERY_TASK_ALWAYS_EAGER (development, tests), else it goes to the broker. Not
  `send_task(name)`: that always publishes, even in eager mode, where no worker would ever run it.
- A worker imports every app's tasks module when it starts (autodiscovery); a web process imports none. The
  first lookup of a name not registered yet runs that same autodiscovery, once per process.
- `*_on_commit` is `Task.delay_on_commit`: queued only if the transaction commits, and only once it has, so
  the worker finds the rows.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from celery import Task, current_app
from django.db import transaction


def _task(name: str) -> Task:
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]


def runs_notify_on_commit(*, assignee_id: int, run_ids: Sequence[int]) -> None:
    """playbooks.tasks.runs_notify(assignee_id, run_ids), once the transaction has committed."""
    transaction.on_commit(
        functools.partial(_task("playbooks.tasks.runs_notify").delay, assignee_id, list(run_ids))
    )
