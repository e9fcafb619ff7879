"""Writes for playbooks (docs/playbooks.md), one module per job:

- runs: start runs (by triggers, in bulk, by hand), at most one open run per playbook and customer;
- work: complete or skip tasks (by hand or automatically), close runs;
- assignees: keep the assignees of open runs in line with the customers' CSMs;
- definitions: configure playbooks and their triggers;
- own_tasks: ad-hoc tasks on a customer, snooze, reassign (docs/workspace.md#own-tasks);
- notifications: email assignees about new runs (now or in a daily digest), and their choice between the two.

The names below are the package's public surface (views, API, evaluation, tasks, demo). runs and assignees
use notifications; otherwise the modules do not import each other, nor this package.
"""

from __future__ import annotations

from .assignees import runs_reconcile
from .definitions import playbook_save, trigger_delete, trigger_save
from .notifications import (
    digest_recipients,
    notification_preference_set,
    notifications_gathered,
    notifications_schedule,
    run_url,
    runs_email,
    runs_notify,
)
from .own_tasks import task_add, task_reassign, task_snooze
from .runs import (
    BulkStart,
    NewRun,
    RunAlreadyOpen,
    check_can_assign,
    playbook_run_start,
    playbook_runs_start,
    runs_create,
)
from .work import (
    can_manage_run,
    can_work_task,
    run_close,
    runs_cancel,
    task_complete,
    task_skip,
    tasks_autocomplete,
)

__all__ = [
    "BulkStart",
    "NewRun",
    "RunAlreadyOpen",
    "can_manage_run",
    "can_work_task",
    "check_can_assign",
    "digest_recipients",
    "notification_preference_set",
    "notifications_gathered",
    "notifications_schedule",
    "playbook_run_start",
    "playbook_runs_start",
    "playbook_save",
    "run_close",
    "run_url",
    "runs_cancel",
    "runs_create",
    "runs_email",
    "runs_notify",
    "runs_reconcile",
    "task_add",
    "task_complete",
    "task_reassign",
    "task_skip",
    "task_snooze",
    "tasks_autocomplete",
    "trigger_delete",
    "trigger_save",
]
