from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("revenue/", views.revenue, name="revenue"),
    path("revenue/customers/", views.revenue_customer_list, name="revenue_customers"),
    path(
        "customers/<external_id:external_id>/milestones/",
        views.value_milestone_log,
        name="value_milestone_log",
    ),
    path("", include("metrics.health.urls")),
    path("", include("metrics.forecast.urls")),
]
