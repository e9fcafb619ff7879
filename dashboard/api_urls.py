from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("metrics/team/", api.TeamMetricsView.as_view(), name="api_metrics_team"),
]
