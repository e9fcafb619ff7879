"""Django admin for playbooks: configuration and a read-mostly view of runs (the screens do the work)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_audit import AuditedAdmin

from .models import NotificationPreference, Playbook, Run, RunEvent, Step, Task, Trigger


class StepInline(admin.TabularInline):
    model = Step
    extra = 0


class TriggerInline(admin.TabularInline):
    model = Trigger
    extra = 0
    readonly_fields = ["cursor", "last_evaluated_at"]


@admin.register(Playbook)
class PlaybookAdmin(AuditedAdmin):
    list_display = ["name", "enabled", "starter_key", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    inlines = [StepInline, TriggerInline]


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ["order", "title", "assignee", "due_date", "status", "note", "completed_by", "completed_at"]
    raw_id_fields = ["assignee", "completed_by"]


class RunEventInline(admin.TabularInline):
    model = RunEvent
    extra = 0
    readonly_fields = ["at", "kind", "actor", "message", "data"]
    can_delete = False


@admin.register(Run)
class RunAdmin(AuditedAdmin):
    list_display = ["playbook", "customer", "assignee", "status", "started_at", "closed_at"]
    list_filter = ["status", "playbook"]
    search_fields = ["customer__name", "customer__external_id", "assignee__email"]
    raw_id_fields = ["customer", "assignee", "started_by", "closed_by", "trigger"]
    list_select_related = ["playbook", "customer", "assignee"]
    readonly_fields = ["reason_values", "started_at", "notified_at"]
    inlines = [TaskInline, RunEventInline]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(AuditedAdmin):
    list_display = ["user", "mode"]
    raw_id_fields = ["user"]
