from __future__ import annotations

from django.urls import path

from . import task_views, views

app_name = "playbooks"

urlpatterns = [
    path("tasks/", views.inbox, name="inbox"),
    path("tasks/team/", views.team_tasks, name="team"),
    path("tasks/notifications/", views.notifications, name="notifications"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/skip/", views.task_skip, name="task_skip"),
    path("tasks/<int:pk>/snooze/", task_views.task_snooze, name="task_snooze"),
    path("tasks/<int:pk>/reassign/", task_views.task_reassign, name="task_reassign"),
    path("customers/<external_id:external_id>/tasks/", task_views.task_add, name="task_add"),
    path("playbooks/", views.library, name="library"),
    path("playbooks/new/", views.playbook_edit, name="new"),
    path("playbooks/assign/", views.assign, name="assign"),
    path("playbooks/assign/undo/", views.assign_undo, name="assign_undo"),
    path("playbooks/assign/<external_id:external_id>/", views.assign_customer, name="assign_customer"),
    path("playbooks/runs/<int:pk>/", views.run_detail, name="run"),
    path("playbooks/<int:pk>/", views.playbook_edit, name="edit"),
    path("playbooks/<int:playbook_pk>/triggers/new/", views.trigger_edit, name="trigger_new"),
    path("playbooks/<int:playbook_pk>/triggers/<int:pk>/", views.trigger_edit, name="trigger_edit"),
]
