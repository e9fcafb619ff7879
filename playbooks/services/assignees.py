"""Keeping the assignees of open runs in line with the customers' CSMs (docs/playbooks.md): every evaluation
sweep moves the runs (and their open tasks) whose assignee is not who assignment would pick now."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import Role, User
from core import events

from ..assignment import assignees_for
from ..models import (
    EventKind,
    Run,
    RunEvent,
    RunStatus,
    Task,
    TaskStatus,
)
from .notifications import notifications_schedule


def runs_reconcile(*, now: dt.datetime | None = None) -> int:
    """Open runs whose assignee is not who assignment would pick now move there, with their open tasks.

    accounts may not import playbooks (docs/architecture.md), so a CSM change made anywhere (Book, API,
    admin, CSV import) is picked up here: every evaluation sweep (every 5 minutes) calls this. Returns runs
    moved.
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
        notifications_schedule(runs=((run_id, 0, new) for run_id, new in moved))
    return len(moved)


def _sync_task_assignees() -> int:
    """Open tasks of open runs follow their run's assignee, except tasks a person assigned by hand
    (`assignee_pinned`: an ad-hoc task, a reassignment) while that assignee is active. Each moved task
    publishes task.assigned (docs/workspace.md#own-tasks)."""
    stale = (
        Task.objects.filter(status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
        .filter(Q(assignee__isnull=True) | ~Q(assignee_id=F("run__assignee_id")))
        .filter(Q(assignee_pinned=False) | Q(assignee__isnull=True) | Q(assignee__is_active=False))
    )
    rows = list(stale.values_list("pk", "run__customer_id", "run__assignee_id"))
    if not rows:
        return 0
    run_assignee = Run.objects.filter(pk=OuterRef("run_id")).values("assignee_id")[:1]
    moved = Task.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
        assignee_id=Subquery(run_assignee), assignee_pinned=False
    )
    events.publish_many(
        "task.assigned",
        [
            {"task_id": pk, "customer_id": customer_id, "assignee_id": assignee_id, "by_user_id": None}
            for pk, customer_id, assignee_id in rows
            if assignee_id
        ],
    )
    return moved
