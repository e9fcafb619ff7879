from __future__ import annotations

from django.urls import include, path

from . import api
from .forecast import api as forecast_api

urlpatterns = [
    path("mrr/", api.MrrIngestView.as_view(), name="api_mrr"),
    path("usage-events/", api.UsageEventIngestView.as_view(), name="api_usage_events"),
    path("tickets/", api.TicketIngestView.as_view(), name="api_tickets"),
    path("renewals/", api.RenewalIngestView.as_view(), name="api_renewals"),
    path("renewals/<int:pk>/", forecast_api.RenewalForecastView.as_view(), name="api_renewal_forecast"),
    path("key-features/", api.KeyFeatureListView.as_view(), name="api_key_features"),
    path("key-features/<path:name>/", api.KeyFeatureDetailView.as_view(), name="api_key_feature"),
    path("metrics/revenue/", api.RevenueMetricsView.as_view(), name="api_metrics_revenue"),
    path("metrics/engagement/", api.EngagementMetricsView.as_view(), name="api_metrics_engagement"),
    path("metrics/support/", api.SupportMetricsView.as_view(), name="api_metrics_support"),
    path("metrics/renewals/", api.RenewalMetricsView.as_view(), name="api_metrics_renewals"),
    path(
        "metrics/renewals/forecast/",
        forecast_api.RenewalForecastMetricsView.as_view(),
        name="api_metrics_renewals_forecast",
    ),
    path("", include("metrics.health.api_urls")),
]
