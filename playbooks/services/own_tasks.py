"""Tasks of one's own (docs/workspace.md#own-tasks): ad-hoc tasks on a customer, snooze, reassign.

An ad-hoc task belongs to the customer's open run of the built-in "Ad-hoc tasks" playbook (`starter_key`
"adhoc", never started by triggers, hidden from the library), created with the first ad-hoc task and closed
by itself when its tasks are finished, like any run. So the inbox, the team view, the run page, completing
and skipping, the API and the timeline need nothing new for them.

Every assignment publishes `task.assigned` in its transaction (core.events), which the notifications hear.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Customer, User
from accounts.visibility import can_assign_task_to, can_edit_customer
from core import events

from ..models import EventKind, Playbook, Run, RunEvent, RunStatus, Task, TaskStatus
from ..selectors import ADHOC_KEY
from .work import can_work_task

ADHOC_NAME = "Ad-hoc tasks"
TITLE_MAX = 200
MAX_DAYS_AHEAD = 3 * 366  # a due date or snooze further than this is a typo


def adhoc_playbook() -> Playbook:
    """The built-in playbook that holds ad-hoc tasks (created the first time it is needed)."""
    playbook = Playbook.objects.filter(starter_key=ADHOC_KEY).first()
    if playbook is not None:
        return playbook
    name = ADHOC_NAME if not Playbook.objects.filter(name=ADHOC_NAME).exists() else f"{ADHOC_NAME} (cshub)"
    try:
        with transaction.atomic():
            return Playbook.objects.create(
                name=name,
                purpose="Tasks people add by hand on a customer. Built in; never started by a trigger.",
                enabled=False,
                starter_key=ADHOC_KEY,
            )
    except IntegrityError:  # created meanwhile by a concurrent request
        return Playbook.objects.get(starter_key=ADHOC_KEY)


def _check_date(value: dt.date, *, field: str) -> None:
    today = timezone.localdate()
    if value < today - dt.timedelta(days=1) or value > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError({field: "Choose a date from today up to three years ahead."})


def _publish_assigned(task: Task, *, customer_id: int, by: User | None) -> None:
    events.publish(
        "task.assigned",
        task_id=task.pk,
        customer_id=customer_id,
        assignee_id=task.assignee_id,
        by_user_id=by.pk if by else None,
    )


def _open_adhoc_run(*, user: User, customer: Customer, playbook: Playbook, now: dt.datetime) -> Run:
    """The customer's open ad-hoc run, locked; opened when there is none (one open run per playbook and
    customer is a database constraint, so two concurrent first tasks share one run)."""
    run = (
        Run.objects.select_for_update()
        .filter(playbook=playbook, customer=customer, status=RunStatus.OPEN)
        .first()
    )
    if run is not None:
        return run
    try:
        with transaction.atomic():
            run = Run.objects.create(
                playbook=playbook,
                customer=customer,
                assignee_id=customer.csm_id if customer.csm_id else user.pk,
                started_by=user,
                reason=f"Ad-hoc tasks added by {user.get_full_name()}"[:300],
                reason_values={"manual": True, "adhoc": True},
                started_at=now,
                notified_at=now,  # its tasks notify their assignees one by one (task.assigned)
            )
    except IntegrityError:
        return Run.objects.select_for_update().get(
            playbook=playbook, customer=customer, status=RunStatus.OPEN
        )
    RunEvent.objects.create(
        run=run, at=now, kind=EventKind.STARTED, actor=user, message=f"Started by {user.get_full_name()}"
    )
    return run


@transaction.atomic
def task_add(*, user: User, customer: Customer, title: str, due_date: dt.date, assignee: User) -> Task:
    """An ad-hoc task on a customer: CSMs on their own customers, managers their teams', admins all; assigned
    to whom `user` may assign (accounts.visibility.task_assignees)."""
    if not can_edit_customer(user, customer):
        raise PermissionDenied("You can only add tasks on customers in your book (managers: their teams').")
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Say what is to be done."})
    if len(title) > TITLE_MAX:
        raise ValidationError({"title": f"Keep the title under {TITLE_MAX} characters."})
    _check_date(due_date, field="due_date")
    if not can_assign_task_to(user, assignee):
        raise ValidationError({"assignee": "You can assign tasks to yourself or to your team's CSMs only."})
    now = timezone.now()
    run = _open_adhoc_run(user=user, customer=customer, playbook=adhoc_playbook(), now=now)
    order = (run.tasks.aggregate(m=Max("order"))["m"] or 0) + 1
    task = Task.objects.create(
        run=run,
        order=order,
        title=title,
        assignee=assignee,
        assignee_pinned=True,
        due_date=due_date,
    )
    RunEvent.objects.create(
        run=run,
        at=now,
        kind=EventKind.TASK_ADDED,
        actor=user,
        message=f"Added “{title}” for {assignee.get_full_name()}, due {due_date:%Y-%m-%d}"[:300],
        data={"task_id": task.pk, "assignee_id": assignee.pk},
    )
    _publish_assigned(task, customer_id=customer.pk, by=user)
    return task


def _locked_open(task: Task) -> Task:
    locked = Task.objects.select_for_update().select_related("run__customer").get(pk=task.pk)
    if locked.status != TaskStatus.OPEN or locked.run.status != RunStatus.OPEN:
        raise ValidationError({"__all__": "This task is already finished."})
    return locked


@transaction.atomic
def task_snooze(*, user: User, task: Task, until: dt.date) -> Task:
    """Put a task off until `until` (its new due date); whoever may work it."""
    if not can_work_task(user, task):
        raise PermissionDenied("You can only snooze tasks you may work.")
    if until <= timezone.localdate():
        raise ValidationError({"until": "Snooze until a day after today."})
    _check_date(until, field="until")
    locked = _locked_open(task)
    was = locked.due_date
    locked.due_date = until
    locked.save(update_fields=["due_date"])
    RunEvent.objects.create(
        run_id=locked.run_id,
        at=timezone.now(),
        kind=EventKind.TASK_SNOOZED,
        actor=user,
        message=f"Snoozed “{locked.title}” until {until:%Y-%m-%d} (was due {was:%Y-%m-%d})"[:300],
        data={"task_id": locked.pk, "from": was.isoformat(), "to": until.isoformat()},
    )
    return locked


@transaction.atomic
def task_reassign(*, user: User, task: Task, assignee: User) -> Task:
    """Give a task to someone else: a CSM to another CSM of their team, a manager within their teams, an
    admin anyone (docs/architecture.md#roles-and-permissions)."""
    if not can_work_task(user, task):
        raise PermissionDenied("You can only reassign tasks you may work.")
    if not can_assign_task_to(user, assignee):
        raise ValidationError(
            {"assignee": "You can reassign to your team's CSMs only (managers: their teams)."}
        )
    locked = _locked_open(task)
    if locked.assignee_id == assignee.pk:
        return locked
    old = locked.assignee
    locked.assignee, locked.assignee_pinned = assignee, True
    locked.save(update_fields=["assignee", "assignee_pinned"])
    RunEvent.objects.create(
        run_id=locked.run_id,
        at=timezone.now(),
        kind=EventKind.TASK_REASSIGNED,
        actor=user,
        message=(
            f"Reassigned “{locked.title}” from {old.get_full_name() if old else 'nobody'} "
            f"to {assignee.get_full_name()}"
        )[:300],
        data={"task_id": locked.pk, "from": old.pk if old else None, "to": assignee.pk},
    )
    _publish_assigned(locked, customer_id=locked.run.customer_id, by=user)
    return locked
