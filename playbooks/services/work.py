"""Working runs (docs/playbooks.md): complete or skip a task (by hand, or automatically once the touchpoint
a step asks for is logged), close a run; a run whose tasks are all finished closes itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from accounts.models import Touchpoint, TouchpointKind, User
from accounts.visibility import (
    can_manage_customer,
    can_work_for,
    is_signed_in,
)
from core import events

from ..models import (
    EventKind,
    Run,
    RunEvent,
    RunStatus,
    Task,
    TaskStatus,
)


def can_work_task(user: User, task: Task) -> bool:
    """docs/architecture.md#roles-and-permissions "work tasks": the assignee; a manager their teams' tasks;
    an admin all."""
    return can_work_for(user, assignee_id=task.assignee_id, customer=task.run.customer)


def can_manage_run(user: User, run: Run) -> bool:
    """Close/cancel a run: its assignee, or whoever may assign playbooks to the customer."""
    if not is_signed_in(user):
        return False
    return run.assignee_id == user.pk or can_manage_customer(user, run.customer)


def _finish_task(*, user: User, task: Task, status: str, note: str) -> Task:
    if not can_work_task(user, task):
        raise PermissionDenied("You can only work tasks assigned to you (managers: their teams' tasks).")
    note = note.strip()
    if len(note) > 2000:
        raise ValidationError({"note": "Keep the note under 2,000 characters."})
    if status == TaskStatus.SKIPPED and not note:
        raise ValidationError({"note": "Say why the task is skipped."})
    now = timezone.now()
    with transaction.atomic():
        locked = Task.objects.select_for_update().select_related("run").get(pk=task.pk)
        if locked.status != TaskStatus.OPEN:
            raise ValidationError({"__all__": "This task is already finished."})
        if locked.run.status != RunStatus.OPEN:
            raise ValidationError({"__all__": "This run is closed."})
        kind = locked.required_touchpoint_kind
        if status == TaskStatus.DONE and kind:
            logged = Touchpoint.objects.filter(
                customer_id=locked.run.customer_id, kind=kind, occurred_at__gte=locked.run.started_at
            ).exists()
            if not logged:
                label = TouchpointKind(kind).label
                label = label if label.isupper() else label.lower()
                raise ValidationError(
                    {"__all__": f"This step needs a logged {label}: log it on the customer page first."}
                )
        locked.status, locked.note, locked.completed_by, locked.completed_at = status, note, user, now
        locked.save(update_fields=["status", "note", "completed_by", "completed_at"])
        verb = "Completed" if status == TaskStatus.DONE else "Skipped"
        RunEvent.objects.create(
            run_id=locked.run_id,
            at=now,
            kind=EventKind.TASK_DONE if status == TaskStatus.DONE else EventKind.TASK_SKIPPED,
            actor=user,
            message=f"{verb} “{locked.title}”" + (f": {note}" if note else ""),
            data={"task_id": locked.pk},
        )
        if status == TaskStatus.DONE:
            events.publish(
                "task.completed", task_id=locked.pk, customer_id=locked.run.customer_id, user_id=user.pk
            )
        _close_finished_runs(run_ids=[locked.run_id], now=now, actor=user)
    return locked


def task_complete(*, user: User, task: Task, note: str = "") -> Task:
    """Mark a task done (a step that needs a touchpoint requires one logged since the run started)."""
    return _finish_task(user=user, task=task, status=TaskStatus.DONE, note=note)


def task_skip(*, user: User, task: Task, note: str) -> Task:
    """Skip a task, saying why."""
    return _finish_task(user=user, task=task, status=TaskStatus.SKIPPED, note=note)


def _close_finished_runs(*, run_ids: Iterable[int], now: dt.datetime, actor: User | None) -> int:
    """Open runs among `run_ids` with no open task left become done (conditional UPDATE: closes once)."""
    open_task = Task.objects.filter(run=OuterRef("pk"), status=TaskStatus.OPEN)
    finished = list(
        Run.objects.open()
        .filter(pk__in=list(run_ids))
        .filter(~Exists(open_task))
        .values_list("pk", flat=True)
    )
    closed = 0
    for run_id in finished:
        if Run.objects.filter(pk=run_id, status=RunStatus.OPEN).update(
            status=RunStatus.DONE, closed_at=now, closed_by=actor, outcome_note="All tasks finished."
        ):
            closed += 1
            RunEvent.objects.create(
                run_id=run_id, at=now, kind=EventKind.CLOSED, actor=actor, message="Done: all tasks finished."
            )
    return closed


def run_close(*, user: User, run: Run, status: str, outcome_note: str) -> Run:
    """End a run as done or cancelled with an outcome note; its open tasks are skipped."""
    if not can_manage_run(user, run):
        raise PermissionDenied("Only the assignee or a manager of this customer can close the run.")
    if status not in (RunStatus.DONE, RunStatus.CANCELLED):
        raise ValidationError({"status": "Choose done or cancelled."})
    outcome_note = outcome_note.strip()
    if not outcome_note:
        raise ValidationError({"outcome_note": "Describe the outcome."})
    now = timezone.now()
    with transaction.atomic():
        if not Run.objects.filter(pk=run.pk, status=RunStatus.OPEN).update(
            status=status, closed_at=now, closed_by=user, outcome_note=outcome_note[:2000]
        ):
            raise ValidationError({"__all__": "This run is already closed."})
        Task.objects.filter(run=run, status=TaskStatus.OPEN).update(
            status=TaskStatus.SKIPPED, note="Run closed.", completed_by=user, completed_at=now
        )
        RunEvent.objects.create(
            run=run,
            at=now,
            kind=EventKind.CLOSED,
            actor=user,
            message=f"{RunStatus(status).label}: {outcome_note}"[:300],
        )
    run.refresh_from_db()
    return run


def runs_cancel(*, user: User, run_ids: Sequence[int], outcome_note: str) -> int:
    """Cancel many open runs at once (the undo of a bulk start): each must be one `user` may close; the runs
    already closed are left alone. Answers how many were cancelled."""
    outcome_note = outcome_note.strip()
    if not outcome_note:
        raise ValidationError({"outcome_note": "Describe the outcome."})
    runs = list(Run.objects.open().filter(pk__in=list(run_ids)).select_related("customer"))
    if any(not can_manage_run(user, run) for run in runs):
        raise PermissionDenied("Only the assignee or a manager of these customers can cancel these runs.")
    now = timezone.now()
    with transaction.atomic():
        # Conditional UPDATE: a run closed meanwhile (by its assignee, or by a second click) is not touched.
        ids = list(
            Run.objects.open()
            .filter(pk__in=[r.pk for r in runs])
            .select_for_update()
            .values_list("pk", flat=True)
        )
        Run.objects.filter(pk__in=ids, status=RunStatus.OPEN).update(
            status=RunStatus.CANCELLED, closed_at=now, closed_by=user, outcome_note=outcome_note[:2000]
        )
        Task.objects.filter(run_id__in=ids, status=TaskStatus.OPEN).update(
            status=TaskStatus.SKIPPED, note="Run closed.", completed_by=user, completed_at=now
        )
        message = f"{RunStatus.CANCELLED.label}: {outcome_note}"[:300]
        RunEvent.objects.bulk_create(
            [RunEvent(run_id=i, at=now, kind=EventKind.CLOSED, actor=user, message=message) for i in ids],
            batch_size=1000,
        )
    return len(ids)


def tasks_autocomplete(*, now: dt.datetime | None = None, customer_ids: Sequence[int] | None = None) -> int:
    """Open tasks whose step asks for a touchpoint of kind X are done once one is logged after the run
    began (of `customer_ids` only, when given)."""
    now = now or timezone.now()
    touch = Touchpoint.objects.filter(
        customer_id=OuterRef("run__customer_id"),
        kind=OuterRef("required_touchpoint_kind"),
        occurred_at__gte=OuterRef("run__started_at"),
    ).order_by("occurred_at")
    rows = list(
        Task.objects.filter(status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
        .filter(**({} if customer_ids is None else {"run__customer_id__in": list(customer_ids)}))
        .exclude(required_touchpoint_kind="")
        .annotate(
            tp_author=Subquery(touch.values("author_id")[:1]), tp_at=Subquery(touch.values("occurred_at")[:1])
        )
        .filter(tp_at__isnull=False)
        .values_list(
            "pk", "run_id", "run__customer_id", "title", "required_touchpoint_kind", "tp_author", "tp_at"
        )
    )
    done_runs = []
    with transaction.atomic():
        for task_id, run_id, customer_id, title, kind, author_id, at in rows:
            note = f"{TouchpointKind(kind).label} logged on {timezone.localtime(at):%Y-%m-%d}."
            if Task.objects.filter(pk=task_id, status=TaskStatus.OPEN).update(
                status=TaskStatus.DONE, note=note, completed_by_id=author_id, completed_at=now
            ):
                RunEvent.objects.create(
                    run_id=run_id,
                    at=now,
                    kind=EventKind.TASK_DONE,
                    actor_id=author_id,
                    message=f"Completed “{title}”: {note}"[:300],
                    data={"task_id": task_id, "automatic": True},
                )
                events.publish("task.completed", task_id=task_id, customer_id=customer_id, user_id=author_id)
                done_runs.append(run_id)
        _close_finished_runs(run_ids=done_runs, now=now, actor=None)
    return len(done_runs)


def after_touchpoint_logged(*, touchpoint: Touchpoint) -> int:
    """settings.CSHUB_AFTER_TOUCHPOINT_LOGGED hook, called inside the transaction that logs a touchpoint
    (docs/playbooks.md#working-tasks): the customer's tasks waiting for a touchpoint of its kind complete in
    that same transaction, so the inbox shows them done as soon as the call is saved."""
    return tasks_autocomplete(now=timezone.now(), customer_ids=[touchpoint.customer_id])
