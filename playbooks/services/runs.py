"""Starting runs (docs/playbooks.md): by triggers (runs_create, from the evaluation), in bulk or by hand.

At most one open run per (playbook, customer) is the database's job (partial unique index
`playbook_run_one_open`): runs are inserted with ON CONFLICT DO NOTHING, so two evaluations (or a manager
and an evaluation) racing for the same customer produce one run, and only the inserted rows get tasks and
emails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer, User
from accounts.visibility import (
    check_can_manage,
)
from core import events
from core.errors import Conflict

from ..assignment import assignees_for
from ..models import (
    EventKind,
    Playbook,
    Run,
    RunEvent,
    RunStatus,
    Task,
    Trigger,
)
from .notifications import notifications_schedule

INSERT_BATCH = 500


class RunAlreadyOpen(Conflict):
    """The playbook already has an open run for this customer (the API answers 409 naming it)."""

    def __init__(self, run: Run | None) -> None:
        self.run = run
        super().__init__("This playbook is already running for this customer.")

    def api_body(self) -> dict[str, Any]:
        return {"detail": str(self), "run": self.run.pk if self.run else None}


@dataclass(frozen=True)
class NewRun:
    customer_id: int
    reason: str
    values: dict[str, Any]
    key: str = ""


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
        tasks = Task.objects.bulk_create(
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
        _publish_assigned(
            tasks, customers={run_id: customer_id for run_id, customer_id, _ in inserted}, by=started_by
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
        events.publish_many(  # only the runs this call inserted: once per run, at once (batch subscribers)
            "playbook_run.started",
            [
                {"run_id": run_id, "customer_id": customer_id, "playbook_id": playbook.pk}
                for run_id, customer_id, _ in inserted
            ],
        )
        if notify:
            notifications_schedule(runs=inserted)
        else:
            Run.objects.filter(pk__in=[r[0] for r in inserted]).update(notified_at=now)
    return [run_id for run_id, _, _ in inserted]


def _publish_assigned(tasks: Sequence[Task], *, customers: dict[int, int], by: User | None) -> None:
    """task.assigned for each new task with an assignee (docs/architecture.md#events)."""
    if not events.has_subscribers("task.assigned"):
        return
    events.publish_many(  # at once: the notifications' subscriber handles them together
        "task.assigned",
        [
            {
                "task_id": task.pk,
                "customer_id": customers[task.run_id],
                "assignee_id": task.assignee_id,
                "by_user_id": by.pk if by else None,
            }
            for task in tasks
            if task.assignee_id and task.pk
        ],
    )


def check_can_assign(*, user: User, customers: Sequence[Customer]) -> None:
    """docs/architecture.md#roles-and-permissions: managers start playbooks for their teams' customers,
    admins for all, CSMs never."""
    check_can_manage(user=user, customers=customers, action="assign playbooks", verb="assign playbooks to")


@dataclass(frozen=True)
class BulkStart:
    started: list[int]
    already_open: int
    # The customers skipped because the playbook was already open there, by name (the page names them).
    already_open_customers: list[Customer] = field(default_factory=list)


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
    started_for = set(Run.objects.filter(pk__in=started).values_list("customer_id", flat=True))
    skipped = sorted((c for c in customers if c.pk not in started_for), key=lambda c: (c.name, c.pk))
    return BulkStart(started=started, already_open=len(skipped), already_open_customers=skipped)


def playbook_run_start(*, user: User, playbook: Playbook, customer: Customer, note: str = "") -> Run:
    """Start a playbook by hand for one customer; RunAlreadyOpen if it is running there already."""
    result = playbook_runs_start(user=user, playbook=playbook, customers=[customer], note=note)
    if not result.started:
        raise RunAlreadyOpen(Run.objects.open().filter(playbook=playbook, customer=customer).first())
    return Run.objects.get(pk=result.started[0])
