"""Playbooks (docs/playbooks.md): templates (Playbook, Step), the conditions that start them (Trigger), and
their
instances for one customer (Run with its Tasks and an event log). Notification preference per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, TouchpointKind


class Playbook(models.Model):
    name = models.CharField(max_length=150, unique=True)
    purpose = models.TextField(blank=True, help_text="When to use it and what a good outcome looks like.")
    enabled = models.BooleanField(default=True, help_text="Disabled playbooks are never started by triggers.")
    # Set on the starter library (playbooks.starter), so installing it again never duplicates an entry.
    starter_key = models.CharField(max_length=50, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["starter_key"], condition=~Q(starter_key=""), name="playbook_unique_starter_key"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("playbooks:edit", kwargs={"pk": self.pk})


class Step(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    guidance = models.TextField(blank=True, help_text="What to do and why; shown with the task.")
    due_after_days = models.PositiveSmallIntegerField(default=0, help_text="Days after the run starts.")
    required_touchpoint_kind = models.CharField(
        max_length=20,
        choices=TouchpointKind.choices,
        blank=True,
        help_text="If set, the task completes only once a touchpoint of this kind is logged (and is "
        "completed automatically when one is).",
    )

    class Meta:
        ordering = ["playbook", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class Condition(models.TextChoices):
    BAND_ENTERED = "band_entered", "Health band entered"
    SCORE_DROP = "score_drop", "Health score dropped"
    NPS_DETRACTOR = "nps_detractor", "NPS detractor answer"
    CSAT_LOW = "csat_low", "Low CSAT answer"
    NO_TOUCHPOINT = "no_touchpoint", "No touchpoint for a while"
    RENEWAL_DUE = "renewal_due", "Renewal approaching"
    RENEWAL_RISK = "renewal_risk", "Renewal at risk (forecast or red)"
    USAGE_DROP = "usage_drop", "Usage dropped month over month"
    LICENSE_UTILIZATION_BELOW = "license_utilization_below", "License utilization below"
    NEW_CUSTOMER = "new_customer", "New customer (onboarding)"


class Trigger(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="triggers")
    condition = models.CharField(max_length=40, choices=Condition.choices)
    params = models.JSONField(
        default=dict, blank=True, help_text="Validated per condition (playbooks.triggers)."
    )
    enabled = models.BooleanField(default=True)
    cooldown_days = models.PositiveSmallIntegerField(
        default=30, help_text="After a run of this playbook closes, wait this long before starting another."
    )
    # Fast signals (survey answers) only look at rows with a larger id than the last evaluation saw.
    cursor = models.BigIntegerField(null=True, blank=True, editable=False)
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["playbook", "pk"]

    def __str__(self) -> str:
        return f"{self.playbook}: {self.describe()}"

    # Words for a condition and its parameters: playbooks.triggers.describe, plugged in by
    # PlaybooksConfig.ready(). The condition registry sits above this module (its conditions query Run), so
    # the models do not import it.
    describe_condition: ClassVar[Callable[[str, dict[str, Any]], str]]

    def describe(self) -> str:
        return self.describe_condition(self.condition, self.params)


class RunStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class RunQuerySet(models.QuerySet["Run"]):
    def open(self) -> RunQuerySet:
        return self.filter(status=RunStatus.OPEN)


class Run(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="runs")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="playbook_runs")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbook_runs",
    )
    trigger = models.ForeignKey(
        Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300)
    # What fired it, for conditions that fire once per occurrence ("renewal:2027-03-31", "onboarding").
    key = models.CharField(max_length=100, blank=True)
    # {"condition": …, "params": {…}, "values": {…}} for triggers; {"manual": true, "note": …} by hand.
    reason_values = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.OPEN)
    outcome_note = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified_at = models.DateTimeField(null=True, blank=True)  # null: the assignee has not been told yet

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # docs/playbooks.md: at most one open run per (playbook, customer), whoever or whatever starts it.
            models.UniqueConstraint(
                fields=["playbook", "customer"], condition=Q(status="open"), name="playbook_run_one_open"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["playbook", "customer", "closed_at"], name="playbook_run_cooldown"),
        ]

    def __str__(self) -> str:
        return f"{self.playbook} for {self.customer}"

    def get_absolute_url(self) -> str:
        return reverse("playbooks:run", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.status == RunStatus.OPEN


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class Task(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tasks")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    # Copied from the step when the run starts: editing a playbook never rewrites work in progress.
    order = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    guidance = models.TextField(blank=True)
    required_touchpoint_kind = models.CharField(max_length=20, choices=TouchpointKind.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbook_tasks",
    )
    # Set when a person chose the assignee (an ad-hoc task, a reassignment): the task then stays with them
    # when its run moves to another assignee (docs/workspace.md#own-tasks).
    # db_default: raw SQL writers of tasks (benchmarks, bulk paths) need not know the column
    assignee_pinned = models.BooleanField(default=False, db_default=False)
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    note = models.TextField(blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "order", "pk"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_date"], name="playbook_task_inbox"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class EventKind(models.TextChoices):
    STARTED = "started", "Started"
    REASSIGNED = "reassigned", "Reassigned"
    TASK_DONE = "task_done", "Task done"
    TASK_SKIPPED = "task_skipped", "Task skipped"
    TASK_ADDED = "task_added", "Task added"
    TASK_SNOOZED = "task_snoozed", "Task snoozed"
    TASK_REASSIGNED = "task_reassigned", "Task reassigned"
    NOTIFIED = "notified", "Assignee notified"
    CLOSED = "closed", "Closed"


class RunEvent(models.Model):
    """The run's log: who started it, reassignments (with from/to), task changes, notification, close."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["run", "at"])]

    def __str__(self) -> str:
        return self.message


class NotifyMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately, one email per evaluation"
    DIGEST = "digest", "Once a day, in a digest"


class NotificationPreference(models.Model):
    """How a user hears about new playbook runs; users without a row get immediate emails."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playbook_notification_preference"
    )
    mode = models.CharField(max_length=10, choices=NotifyMode.choices, default=NotifyMode.IMMEDIATE)

    def __str__(self) -> str:
        return f"{self.user}: {self.mode}"
