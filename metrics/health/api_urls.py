from __future__ import annotations

from django.urls import path

from . import api, backtest_api

urlpatterns = [
    path("health/backtest/", backtest_api.BacktestView.as_view(), name="api_health_backtest"),
    path(
        "health/backtest/jobs/<int:job_id>/",
        backtest_api.BacktestJobView.as_view(),
        name="api_health_backtest_job",
    ),
    path("health/recompute/", api.RecomputeStartView.as_view(), name="api_health_recompute"),
    path("health/recompute/<int:job_id>/", api.RecomputeJobView.as_view(), name="api_health_recompute_job"),
    path("health-snapshots/", api.HealthSnapshotListView.as_view(), name="api_health_snapshots"),
    path(
        "customers/<external_id:external_id>/health/",
        api.CustomerHealthView.as_view(),
        name="api_customer_health",
    ),
    path(
        "customers/<external_id:external_id>/health/history/",
        api.CustomerHealthHistoryView.as_view(),
        name="api_customer_health_history",
    ),
]
