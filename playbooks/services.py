"""Writes for playbooks (docs/playbooks.md): start runs (by triggers, in bulk, by hand), work tasks, close
runs,
keep assignees in line with the customers' CSMs, configure playbooks and triggers.

At most one open run per (playbook, customer) is the database's job (partial unique index
`playbook_run_one_open`): runs are inserted with ON CONFLICT DO NOTHING, so two evaluations (or a manager
and an evaluation) racing for the same customer produce one run, and only the inserted rows get tasks and
emails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import Customer, Role, Touchpoint, TouchpointKind, User
from accounts.visibility import (
    can_edit_configuration,
    can_manage_customer,
    can_work_for,
    check_can_manage,
    is_signed_in,
)

from .assignment import assignees_for
from .enqueue import runs_notify_on_commit
from .models import (
    Condition,
    EventKind,
    NotificationPreference,
    NotifyMode,
    Playbook,
    Run,
    RunEvent,
    RunStatus,
    Step,
    Task,
    TaskStatus,
    Trigger,
)
from .triggers import clean_params

INSERT_BATCH = 500


class RunAlreadyOpen(Exception):
    """The playbook already has an open run for this customer (the API answers 409)."""

    def __init__(self, run: Run | None) -> None:
        self.run = run
        super().__init__("This playbook is already running for this customer.")


@dataclass(frozen=True)
class NewRun:
    customer_id: int
    reason: str
    values: dict[str, Any]
    key: str = ""


# --- Starting runs ------------------------------------------------------------------------------------------


def _insert_runs(
    *,
    playbook: Playbook,
    rows: Sequence[NewRun],
    assignees: dict[int, int | None],
    trigger_id: int | None,
    started_by_id: int | None,
    now: dt.datetime,
) -> list[tuple[int, int, int | None]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: (run id, customer id, assignee id) of the rows inserted."""
    table = connection.ops.quote_name(Run._meta.db_table)
    json_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    names = [
        *("playbook_id", "customer_id", "assignee_id", "trigger_id", "started_by_id", "reason", "key"),
        *("reason_values", "status", "outcome_note", "started_at"),
    ]
    columns = ", ".join(connection.ops.quote_name(n) for n in names)
    placeholder = f"(%s, %s, %s, %s, %s, %s, %s, {json_param}, %s, %s, %s)"
    started_at = connection.ops.adapt_datetimefield_value(now)
    inserted: list[tuple[int, int, int | None]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            batch = rows[start : start + INSERT_BATCH]
            params: list[Any] = []
            for row in batch:
                params += [
                    playbook.pk,
                    row.customer_id,
                    assignees.get(row.customer_id),
                    trigger_id,
                    started_by_id,
                    row.reason[:300],
                    row.key[:100],
                    json.dumps(row.values, default=str),
                    RunStatus.OPEN,
                    "",
                    started_at,
                ]
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(batch))} "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING id, customer_id, assignee_id"
            )
            cursor.execute(sql, params)
            inserted += [tuple(r) for r in cursor.fetchall()]
    return inserted


def runs_create(
    *,
    playbook: Playbook,
    rows: Sequence[NewRun],
    trigger: Trigger | None = None,
    started_by: User | None = None,
    now: dt.datetime | None = None,
    notify: bool = True,
) -> list[int]:
    """Start `playbook` for each row's customer unless it is already open there; returns the new run ids.

    Creates the tasks (due dates from the steps), logs "started", and queues the assignees' emails after
    commit.
    """
    if not rows:
        return []
    now = now or timezone.now()
    today = timezone.localdate(now)
    steps = list(playbook.steps.order_by("order", "pk"))
    with transaction.atomic():
        assignees = assignees_for(r.customer_id for r in rows)
        inserted = _insert_runs(
            playbook=playbook,
            rows=rows,
            assignees=assignees,
            trigger_id=trigger.pk if trigger else None,
            started_by_id=started_by.pk if started_by else None,
            now=now,
        )
        by_customer = {r.customer_id: r for r in rows}
        Task.objects.bulk_create(
            [
                Task(
                    run_id=run_id,
                    step=step,
                    order=step.order,
                    title=step.title,
                    guidance=step.guidance,
                    required_touchpoint_kind=step.required_touchpoint_kind,
                    assignee_id=assignee_id,
                    due_date=today + dt.timedelta(days=step.due_after_days),
                )
                for run_id, _, assignee_id in inserted
                for step in steps
            ],
            batch_size=1000,
        )
        who = f"by {started_by.get_full_name()}" if started_by else f"by the trigger “{trigger.describe()}”"
        RunEvent.objects.bulk_create(
            [
                RunEvent(
                    run_id=run_id,
                    at=now,
                    kind=EventKind.STARTED,
                    actor=started_by,
                    message=f"Started {who}: {by_customer[customer_id].reason}"[:300],
                    data={"assignee_id": assignee_id},
                )
                for run_id, customer_id, assignee_id in inserted
            ],
            batch_size=1000,
        )
        if notify:
            _schedule_notifications(inserted)
        else:
            Run.objects.filter(pk__in=[r[0] for r in inserted]).update(notified_at=now)
    return [run_id for run_id, _, _ in inserted]


def _schedule_notifications(runs: Iterable[tuple[int, int, int | None]]) -> None:
    """One email per assignee that wants them immediately; digest users hear at the daily digest."""
    by_assignee: dict[int, list[int]] = defaultdict(list)
    for run_id, _, assignee_id in runs:
        if assignee_id:
            by_assignee[assignee_id].append(run_id)
    if not by_assignee:
        return
    digest = set(
        NotificationPreference.objects.filter(
            user_id__in=list(by_assignee), mode=NotifyMode.DIGEST
        ).values_list("user_id", flat=True)
    )
    for assignee_id, run_ids in by_assignee.items():
        if assignee_id not in digest:
            runs_notify_on_commit(assignee_id=assignee_id, run_ids=run_ids)


def check_can_assign(*, user: User, customers: Sequence[Customer]) -> None:
    """docs/architecture.md#roles-and-permissions: managers start playbooks for their teams' customers,
    admins for all, CSMs never."""
    check_can_manage(user=user, customers=customers, action="assign playbooks", verb="assign playbooks to")


@dataclass(frozen=True)
class BulkStart:
    started: list[int]
    already_open: int


def playbook_runs_start(
    *, user: User, playbook: Playbook, customers: Sequence[Customer], note: str = ""
) -> BulkStart:
    """Start a playbook by hand for one or many customers; those where it is already open are skipped."""
    customers = list(customers)
    if not customers:
        raise ValidationError({"customers": "Choose at least one customer."})
    check_can_assign(user=user, customers=customers)
    note = note.strip()[:200]
    reason = f"Started by {user.get_full_name()}" + (f": {note}" if note else "")
    rows = [NewRun(c.pk, reason, {"manual": True, "note": note}) for c in customers]
    started = runs_create(playbook=playbook, rows=rows, started_by=user)
    return BulkStart(started=started, already_open=len(customers) - len(started))


def playbook_run_start(*, user: User, playbook: Playbook, customer: Customer, note: str = "") -> Run:
    """Start a playbook by hand for one customer; RunAlreadyOpen if it is running there already."""
    result = playbook_runs_start(user=user, playbook=playbook, customers=[customer], note=note)
    if not result.started:
        raise RunAlreadyOpen(Run.objects.open().filter(playbook=playbook, customer=customer).first())
    return Run.objects.get(pk=result.started[0])


# --- Working tasks and runs ---------------------------------------------------------------------------------


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


# --- Keeping assignees in line with the customers' CSMs ----------------------------------------------------


def runs_reconcile(*, now: dt.datetime | None = None) -> int:
    """Open runs whose assignee is not who assignment would pick now move there, with their open tasks.

    accounts may not import playbooks (docs/architecture.md), so a CSM change made anywhere (Book, API,
    admin, CSV
    import) is picked up here: every evaluation sweep (every 5 minutes) calls this. Returns runs moved.
    """
    now = now or timezone.now()
    # Customers with an active CSM: the run follows the CSM.
    to_csm = list(
        Run.objects.open()
        .filter(customer__csm__isnull=False, customer__csm__is_active=True)
        .filter(Q(assignee__isnull=True) | ~Q(assignee_id=F("customer__csm_id")))
        .values_list("pk", "customer_id", "assignee_id")
    )
    # No (active) CSM: only runs left with a CSM, an inactive user or nobody move to the fallback; a run
    # already with a manager or admin stays with them.
    orphaned = list(
        Run.objects.open()
        .filter(Q(customer__csm__isnull=True) | Q(customer__csm__is_active=False))
        .filter(Q(assignee__isnull=True) | Q(assignee__role=Role.CSM) | Q(assignee__is_active=False))
        .values_list("pk", "customer_id", "assignee_id")
    )
    rows = to_csm + orphaned
    if not rows:
        _sync_task_assignees()
        return 0
    targets = assignees_for({customer_id for _, customer_id, _ in rows})
    names = dict(
        User.objects.filter(
            pk__in={a for _, _, a in rows if a} | {t for t in targets.values() if t}
        ).values_list("pk", "full_name")
    )
    moved: list[tuple[int, int]] = []
    with transaction.atomic():
        for run_id, customer_id, old in rows:
            new = targets.get(customer_id)
            if new is None or new == old:
                continue
            # Conditional: a concurrent sweep that already moved it finds nothing to update (one event).
            if Run.objects.filter(pk=run_id, status=RunStatus.OPEN, assignee_id=old).update(
                assignee_id=new, notified_at=None
            ):
                RunEvent.objects.create(
                    run_id=run_id,
                    at=now,
                    kind=EventKind.REASSIGNED,
                    message=(
                        f"Reassigned from {names.get(old) or 'nobody'} "
                        f"to {names.get(new) or 'user ' + str(new)}"
                        " (the customer's CSM changed)"
                    )[:300],
                    data={"from": old, "to": new},
                )
                moved.append((run_id, new))
        _sync_task_assignees()
        _schedule_notifications((run_id, 0, new) for run_id, new in moved)
    return len(moved)


def _sync_task_assignees() -> int:
    """Open tasks of open runs follow their run's assignee."""
    run_assignee = Run.objects.filter(pk=OuterRef("run_id")).values("assignee_id")[:1]
    return (
        Task.objects.filter(status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
        .filter(Q(assignee__isnull=True) | ~Q(assignee_id=F("run__assignee_id")))
        .update(assignee_id=Subquery(run_assignee))
    )


def tasks_autocomplete(*, now: dt.datetime | None = None) -> int:
    """Open tasks whose step asks for a touchpoint of kind X are done once one is logged after the run
    began."""
    now = now or timezone.now()
    touch = Touchpoint.objects.filter(
        customer_id=OuterRef("run__customer_id"),
        kind=OuterRef("required_touchpoint_kind"),
        occurred_at__gte=OuterRef("run__started_at"),
    ).order_by("occurred_at")
    rows = list(
        Task.objects.filter(status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
        .exclude(required_touchpoint_kind="")
        .annotate(
            tp_author=Subquery(touch.values("author_id")[:1]), tp_at=Subquery(touch.values("occurred_at")[:1])
        )
        .filter(tp_at__isnull=False)
        .values_list("pk", "run_id", "title", "required_touchpoint_kind", "tp_author", "tp_at")
    )
    done_runs = []
    with transaction.atomic():
        for task_id, run_id, title, kind, author_id, at in rows:
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
                done_runs.append(run_id)
        _close_finished_runs(run_ids=done_runs, now=now, actor=None)
    return len(done_runs)


# --- Configuration ------------------------------------------------------------------------------------------


def _require_config(user: User) -> None:
    if not can_edit_configuration(user):
        raise PermissionDenied("Only managers and admins can edit playbooks and triggers.")


def playbook_save(
    *,
    user: User,
    playbook: Playbook | None,
    name: str,
    purpose: str,
    enabled: bool,
    steps: Sequence[dict[str, Any]],
) -> Playbook:
    """Create or update a playbook and replace its steps (running tasks keep their own copy of each step)."""
    _require_config(user)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the playbook a name."})
    if Playbook.objects.filter(name__iexact=name).exclude(pk=playbook.pk if playbook else None).exists():
        raise ValidationError({"name": "Another playbook has this name."})
    if not steps:
        raise ValidationError({"steps": "Add at least one step."})
    with transaction.atomic():
        if playbook is None:
            playbook = Playbook.objects.create(name=name, purpose=purpose.strip(), enabled=enabled)
        else:
            playbook.name, playbook.purpose, playbook.enabled = name, purpose.strip(), enabled
            playbook.save()
        keep: list[int] = []
        for order, data in enumerate(steps, start=1):
            fields = {
                "order": order,
                "title": data["title"],
                "guidance": data.get("guidance", ""),
                "due_after_days": data.get("due_after_days") or 0,
                "required_touchpoint_kind": data.get("required_touchpoint_kind", ""),
            }
            step_id = data.get("id")
            if step_id and playbook.steps.filter(pk=step_id).update(**fields):
                keep.append(step_id)
            else:
                keep.append(Step.objects.create(playbook=playbook, **fields).pk)
        playbook.steps.exclude(pk__in=keep).delete()
    return playbook


def trigger_save(
    *,
    user: User,
    playbook: Playbook,
    trigger: Trigger | None,
    condition: str,
    params: dict[str, Any],
    enabled: bool,
    cooldown_days: int,
) -> Trigger:
    """Create or update a trigger; parameters are validated per condition (field errors as params.<name>)."""
    _require_config(user)
    if condition not in Condition.values:
        raise ValidationError({"condition": "Choose a condition."})
    cleaned = clean_params(condition, params)
    if not 0 <= int(cooldown_days) <= 3650:
        raise ValidationError({"cooldown_days": "Must be between 0 and 3650."})
    if trigger is None:
        trigger = Trigger(playbook=playbook)
    elif trigger.condition != condition:
        trigger.cursor = None
    trigger.condition, trigger.params, trigger.enabled = condition, cleaned, enabled
    trigger.cooldown_days = int(cooldown_days)
    trigger.save()
    return trigger


def trigger_delete(*, user: User, trigger: Trigger) -> None:
    _require_config(user)
    trigger.delete()


def notification_preference_set(*, user: User, mode: str) -> NotificationPreference:
    """Immediate emails or a daily digest for new runs assigned to `user`."""
    if mode not in NotifyMode.values:
        raise ValidationError({"mode": "Choose immediate or digest."})
    pref, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"mode": mode})
    return pref
