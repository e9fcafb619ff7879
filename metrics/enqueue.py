"""How metrics' services queue Celery work without importing metrics.tasks.

Tasks call services (metrics.tasks imports metrics.health.preview_jobs, among others); a service importing the
tasks back would make the two import each other. So a service that must queue work calls a function here,
which finds the task by its name in Celery's registry:

- The object found is the task metrics.tasks defines, so `.delay` means what it means everywhere: the task
  runs inline under CELERY_TASK_ALWAYS_EAGER (development, tests), else it goes to the broker. Not
  `send_task(name)`: that always publishes, even in eager mode, where no worker would ever run it.
- A worker imports every app's tasks module when it starts (autodiscovery); a web process imports none. The
  first lookup of a name not registered yet runs that same autodiscovery, once per process.
"""

from __future__ import annotations

from typing import Any

from celery import Task, current_app


def _task(name: str) -> Task:
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]


def health_model_preview_send(*, key: str, current: dict[str, Any], proposal: dict[str, Any]) -> None:
    """metrics.tasks.health_model_preview_run(key, current, proposal), now (inline when tasks run eagerly)."""
    _task("metrics.tasks.health_model_preview_run").delay(key, current, proposal)
