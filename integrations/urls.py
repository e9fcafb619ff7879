from __future__ import annotations

from django.urls import path

from . import views
from .zendesk import views as zendesk_views

urlpatterns = [
    path("imports/", views.import_csv, name="import_csv"),
    path("imports/<int:job_id>/", views.import_job, name="import_job"),
    # The Integrations page, outbound webhooks, Slack (docs/integrations.md#the-integrations-page)
    path("integrations/", views.integrations_page, name="integrations"),
    path("integrations/slack/", views.slack_settings, name="integrations_slack"),
    path("integrations/webhooks/", views.webhooks, name="integrations_webhooks"),
    path("integrations/webhooks/<int:pk>/", views.webhook_detail, name="integrations_webhook"),
    path("integrations/webhooks/<int:pk>/delete/", views.webhook_delete, name="integrations_webhook_delete"),
    path("integrations/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="integrations_webhook_rotate"),
    path(
        "integrations/webhooks/deliveries/<int:pk>/resend/",
        views.webhook_resend,
        name="integrations_delivery_resend",
    ),
    path("integrations/zendesk/webhook/", zendesk_views.zendesk_webhook, name="zendesk_webhook"),
    path("imports/samples/<slug:kind>.csv", views.import_sample, name="import_sample"),
]
