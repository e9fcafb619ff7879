from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"

    def ready(self) -> None:
        # Outbound webhooks and Slack hear domain events from the lower layers (docs/architecture.md#events).
        from core import events

        from .slack.services import SLACK_EVENTS, slack_events_received, slack_notifications_received
        from .webhooks.services import WEBHOOK_EVENTS, webhook_events_received

        for event in WEBHOOK_EVENTS:
            events.subscribe_batch(event, webhook_events_received)
        for event in SLACK_EVENTS:
            events.subscribe_batch(event, slack_events_received)
        events.subscribe_batch("notification.created", slack_notifications_received)
