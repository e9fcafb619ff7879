from __future__ import annotations

from django.urls import path

from . import api, task_api

urlpatterns = [
    path("playbook-runs/", api.RunListCreateView.as_view(), name="api_playbook_runs"),
    path("tasks/", task_api.TaskAddView.as_view(), name="api_tasks"),
    path("tasks/<int:pk>/snooze/", task_api.TaskSnoozeView.as_view(), name="api_task_snooze"),
    path("tasks/<int:pk>/reassign/", task_api.TaskReassignView.as_view(), name="api_task_reassign"),
]
