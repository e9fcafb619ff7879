"""playbooks' share of the customer timeline: runs started and tasks done or skipped
(docs/workspace.md#timeline)."""

from __future__ import annotations

from django.db.models import QuerySet

from core.timeline import Row, Source, columns

from .models import Run, RunStatus, Task, TaskStatus


def _runs(customer_id: int) -> QuerySet:
    return columns(
        Run.objects.filter(customer_id=customer_id),
        kind="playbook_run",
        at="started_at",
        actor="started_by",
        a="playbook__name",
        b="reason",
        c="status",
    )


def _describe_run(row: Row) -> tuple[str, str]:
    status = RunStatus(row.c).label.lower() if row.c in RunStatus.values else row.c
    return f"Playbook started: {row.a}", f"{row.b} ({status})" if row.b else status.capitalize()


def _tasks(customer_id: int) -> QuerySet:
    return columns(
        Task.objects.filter(run__customer_id=customer_id, completed_at__isnull=False),
        kind="task",
        at="completed_at",
        actor="completed_by",
        a="title",
        b="status",
        c="note",
    )


def _describe_task(row: Row) -> tuple[str, str]:
    verb = "skipped" if row.b == TaskStatus.SKIPPED else "done"
    return f"Task {verb}: {row.a}", row.c


def sources() -> list[Source]:
    return [
        Source("playbook_run", "Playbooks", _runs, _describe_run),
        Source("task", "Tasks", _tasks, _describe_task),
    ]
