from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("playbook-runs/", api.RunListCreateView.as_view(), name="api_playbook_runs"),
]
