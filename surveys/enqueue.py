"""How surveys' services queue Celery work without importing surveys.tasks.

Tasks call services (surveys.tasks imports surveys.services); a service importing the tasks back would make
the two import each other. So a service that must queue work calls a function here, which finds the task by
its name in Celery's registry:

- The object found is the task surveys.tasks defines, so `.delay` means what it means everywhere: the task
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


def invitations_send_on_commit(*, invitation_ids: Sequence[int]) -> None:
    """surveys.tasks.invitations_send(invitation_ids), once the transaction has committed."""
    transaction.on_commit(
        functools.partial(_task("surveys.tasks.invitations_send").delay, list(invitation_ids))
    )
