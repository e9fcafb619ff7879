"""How a service queues Celery work without importing its app's tasks module (docs/architecture.md).

Tasks call services (`<app>.tasks` imports `<app>.services`); a service importing the tasks back would make
the two import each other. So a service that must queue work names the task, and this module finds it in
Celery's registry:

- The object found is the task the tasks module defines, so `.delay` means what it means everywhere: the task
  runs inline under CELERY_TASK_ALWAYS_EAGER (development, tests), else it goes to the broker. Not
  `send_task(name)`: that always publishes, even in eager mode, where no worker would ever run it.
- A worker imports every app's tasks module when it starts (autodiscovery); a web process imports none. The
  first lookup of a name not registered yet runs that same autodiscovery, once per process.
- `delay_on_commit` records the task in the outbox (core.models.OutboxMessage) in the current transaction and
  publishes it once the transaction has committed, so the worker finds the rows, and a broker that is down or
  hung delays the task instead of losing it or failing the request (docs/operations.md#outbox). Under
  CELERY_TASK_ALWAYS_EAGER there is no broker: the task runs inline after commit, as Celery's
  `delay_on_commit` would.

Each app keeps a small `enqueue.py` of typed, named functions over these two, so a call site reads as what it
queues.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction

from .models import OutboxMessage
from .outbox import broker_connection, outbox_publish_one, publish, task_named

__all__ = ["delay", "delay_on_commit", "task_named"]


def delay(name: str, *args: Any) -> None:
    """Queue task `name` now (inline when tasks run eagerly), once, without waiting on a broker that is down
    or hung for more than ~1 s (core.outbox.publish); the caller handles the broker's error."""
    task = task_named(name)
    if task.app.conf.task_always_eager:
        task.delay(*args)
        return
    with broker_connection() as connection:
        publish(name, list(args), connection)


def delay_on_commit(name: str, *args: Any) -> None:
    """Queue task `name` once the current transaction has committed (never if it rolls back); the outbox
    keeps it until the broker has it."""
    task = task_named(name)
    if task.app.conf.task_always_eager:
        transaction.on_commit(functools.partial(task.delay, *args))
        return
    row = OutboxMessage.objects.create(task=name, args=list(args))
    transaction.on_commit(functools.partial(outbox_publish_one, row.pk, name, list(args)))
