"""Reads for the playbook screens and API: the inbox, team workload, runs, the library with its statistics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from accounts.models import Customer, Role, User
from accounts.visibility import can_work_for, is_manager, is_manager_or_admin, team_member_ids

from .models import Playbook, Run, RunEvent, RunStatus, Task, TaskStatus, Trigger

ADHOC_KEY = "adhoc"  # playbooks.services.own_tasks: the built-in playbook of ad-hoc tasks
TEAM_TASKS_SHOWN = 10  # per person on the team tasks page, overdue and soonest first


def _signed_in(user: User) -> None:
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied


@dataclass
class Inbox:
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming)


def inbox_tasks(*, user: User, today: dt.date | None = None) -> Inbox:
    """The user's open tasks in open runs, by due date: overdue, due today, upcoming (one query)."""
    _signed_in(user)
    today = today or timezone.localdate()
    tasks = (
        Task.objects.filter(assignee=user, status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
        .select_related("run__playbook", "run__customer")
        .order_by("due_date", "run__customer__name", "order", "pk")
    )
    inbox = Inbox()
    for task in tasks:
        if task.due_date < today:
            inbox.overdue.append(task)
        elif task.due_date == today:
            inbox.today.append(task)
        else:
            inbox.upcoming.append(task)
    return inbox


@dataclass(frozen=True)
class InboxCounts:
    overdue: int
    today: int
    upcoming: int

    @property
    def total(self) -> int:
        return self.overdue + self.today + self.upcoming


def inbox_counts(*, user: User, today: dt.date | None = None) -> InboxCounts:
    """The My tasks header's numbers after a task is worked, without the rows (one query)."""
    _signed_in(user)
    today = today or timezone.localdate()
    counts = Task.objects.filter(assignee=user, status=TaskStatus.OPEN, run__status=RunStatus.OPEN).aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        today=Count("pk", filter=Q(due_date=today)),
        upcoming=Count("pk", filter=Q(due_date__gt=today)),
    )
    return InboxCounts(**counts)


def task_for_worker(*, user: User, pk: int) -> Task:
    _signed_in(user)
    task = Task.objects.select_related("run__playbook", "run__customer").filter(pk=pk).first()
    if task is None:
        raise Http404("No such task.")
    # Checked here, not only in the services: a refused or invalid request must not render the task either.
    if not can_work_for(user, assignee_id=task.assignee_id, customer=task.run.customer):
        raise PermissionDenied("You can only work your own tasks (managers: their teams').")
    return task


def team_workload(*, user: User, today: dt.date | None = None) -> list[dict]:
    """Managers: per member of their teams (admins: every CSM and anyone with tasks) open and overdue
    tasks (one query)."""
    if not is_manager_or_admin(user):
        raise PermissionDenied("The team view is for managers and admins.")
    today = today or timezone.localdate()
    open_tasks = Q(playbook_tasks__status=TaskStatus.OPEN, playbook_tasks__run__status=RunStatus.OPEN)
    people = User.objects.filter(is_active=True)
    if is_manager(user):
        people = people.filter(Q(pk__in=team_member_ids(user)) | Q(pk=user.pk))
    else:
        people = people.filter(Q(role=Role.CSM) | Q(playbook_tasks__status=TaskStatus.OPEN)).distinct()
    rows = people.annotate(
        open_count=Count("playbook_tasks", filter=open_tasks),
        overdue_count=Count("playbook_tasks", filter=open_tasks & Q(playbook_tasks__due_date__lt=today)),
        today_count=Count("playbook_tasks", filter=open_tasks & Q(playbook_tasks__due_date=today)),
        runs_count=Count("playbook_tasks__run", filter=open_tasks, distinct=True),
    ).order_by("-overdue_count", "-open_count", "full_name")
    return list(rows)


def run_for_viewer(*, user: User, pk: int) -> Run:
    """Any signed-in user may read a run (like any customer, docs/architecture.md#roles-and-permissions);
    working it is checked apart."""
    _signed_in(user)
    run = (
        Run.objects.select_related(
            "playbook", "customer__csm", "assignee", "trigger", "started_by", "closed_by"
        )
        .prefetch_related(
            Prefetch(
                "tasks",
                queryset=Task.objects.select_related("completed_by", "assignee").order_by("order", "pk"),
            ),
            Prefetch("events", queryset=RunEvent.objects.select_related("actor").order_by("at", "pk")),
        )
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise Http404("No such playbook run.")
    return run


def runs_for_customer(*, customer: Customer, status: str | None = RunStatus.OPEN) -> list[Run]:
    qs = Run.objects.filter(customer=customer)
    if status:
        qs = qs.filter(status=status)
    return list(
        qs.select_related("playbook", "assignee")
        .prefetch_related(Prefetch("tasks", queryset=Task.objects.order_by("order", "pk")))
        .order_by("-started_at")
    )


def runs_api(*, user: User, customer: str = "", status: str = "") -> QuerySet[Run]:
    _signed_in(user)
    qs = Run.objects.select_related(
        "playbook", "customer", "assignee", "trigger", "started_by"
    ).prefetch_related(
        Prefetch("tasks", queryset=Task.objects.select_related("completed_by").order_by("order", "pk"))
    )
    if customer:
        qs = qs.filter(customer__external_id=customer)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-started_at", "-pk")


def library(*, user: User) -> list[Playbook]:
    """Every playbook with its steps, triggers (and how often each fired) and how its runs ended."""
    _signed_in(user)
    triggers = Trigger.objects.annotate(fired=Count("runs")).order_by("pk")
    return list(
        Playbook.objects.exclude(starter_key=ADHOC_KEY)  # the built-in holder of ad-hoc tasks
        .annotate(
            runs_total=Count("runs", distinct=True),
            runs_open=Count("runs", filter=Q(runs__status=RunStatus.OPEN), distinct=True),
            runs_done=Count("runs", filter=Q(runs__status=RunStatus.DONE), distinct=True),
            runs_cancelled=Count("runs", filter=Q(runs__status=RunStatus.CANCELLED), distinct=True),
            runs_manual=Count("runs", filter=Q(runs__trigger__isnull=True), distinct=True),
        )
        .prefetch_related("steps", Prefetch("triggers", queryset=triggers))
        .order_by("name")
    )


def customers_with_open_run(*, playbook: Playbook, customers: list[Customer]) -> list[int]:
    """Ids of `customers` where `playbook` is already open (a bulk start skips them)."""
    return list(
        Run.objects.open()
        .filter(playbook=playbook, customer_id__in=[c.pk for c in customers])
        .values_list("customer_id", flat=True)
    )


def open_run_count(*, run_ids: list[int]) -> int:
    return Run.objects.open().filter(pk__in=run_ids).count()


def team_open_tasks(*, people: list[User], per_person: int = TEAM_TASKS_SHOWN) -> dict[int, list[Task]]:
    """Each person's first open tasks (in open runs) by due date: one query, a window numbering each
    person's tasks so no person's list is cut by another's."""
    ids = [p.pk for p in people]
    if not ids:
        return {}
    ranked = (
        Task.objects.filter(assignee_id__in=ids, status=TaskStatus.OPEN, run__status=RunStatus.OPEN)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("assignee_id")], order_by=[F("due_date").asc(), F("pk").asc()]
            )
        )
        .filter(rank__lte=per_person)
        .select_related("run__customer", "run__playbook")
        .order_by("assignee_id", "due_date", "pk")
    )
    out: dict[int, list[Task]] = {pk: [] for pk in ids}
    for task in ranked:
        out[task.assignee_id].append(task)
    return out
