from __future__ import annotations

from django.urls import path

from . import backtest_views, views

urlpatterns = [
    path("health/model/", views.health_model, name="health_model"),
    path("health/model/fit/", backtest_views.health_model_fit, name="health_model_fit"),
    path("health/model/fit/<int:job_id>/", backtest_views.health_model_fit_job, name="health_model_fit_job"),
    path("health/backtest/", backtest_views.health_backtest, name="health_backtest"),
    path("health/model/preview/<str:key>/", views.health_model_preview, name="health_model_preview"),
    path("health/recompute-now/", views.health_recompute_all, name="health_recompute_all"),
    path(
        "customers/<str:external_id>/health/recompute-now/",
        views.customer_health_recompute,
        name="customer_health_recompute",
    ),
]
