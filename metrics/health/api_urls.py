from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("health-snapshots/", api.HealthSnapshotListView.as_view(), name="api_health_snapshots"),
    path("customers/<str:external_id>/health/", api.CustomerHealthView.as_view(), name="api_customer_health"),
    path(
        "customers/<str:external_id>/health/history/",
        api.CustomerHealthHistoryView.as_view(),
        name="api_customer_health_history",
    ),
]
