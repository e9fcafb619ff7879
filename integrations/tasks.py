"""Celery tasks for integrations: ids in, a service call, safe to run twice (docs/style.md "Tasks")."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .segment.services import segment_pending_expire as segment_pending_expire_service
from .services import import_job_give_up
from .services import import_job_run as import_job_run_service
from .slack.services import slack_message_send, slack_messages_retry_due
from .webhooks.services import webhook_deliveries_retry_due, webhook_delivery_send
from .zendesk.client import ZendeskError
from .zendesk.services import zendesk_tickets_fetch as zendesk_tickets_fetch_service


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def import_job_run(job_id: int) -> str:
    """A CSV import from the /imports/ page (integrations.services.import_job_run)."""
    try:
        return import_job_run_service(job_id=job_id)
    except SoftTimeLimitExceeded:
        import_job_give_up(
            job_id=job_id,
            message="The import took longer than 8 minutes and was stopped; nothing was written."
            " Split the file and import the parts.",
        )
        return "failed"


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def webhook_deliver(delivery_id: int) -> str:
    """One attempt of an outbound webhook delivery (integrations.webhooks.services.webhook_delivery_send)."""
    return webhook_delivery_send(delivery_id=delivery_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def slack_deliver(message_id: int) -> str:
    """One attempt of a Slack message (integrations.slack.services.slack_message_send)."""
    return slack_message_send(message_id=message_id)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def outbound_retry_due() -> int:
    """Every minute: queue the webhook deliveries and Slack messages whose next attempt is due."""
    return webhook_deliveries_retry_due() + slack_messages_retry_due()


@shared_task(
    acks_late=True,
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=(ZendeskError,),
    retry_backoff=60,
    max_retries=8,
)
def zendesk_tickets_fetch(ticket_ids: list[int]) -> dict[str, int]:
    """The tickets a Zendesk webhook named, fetched and ingested (integrations.zendesk.services); retried
    with backoff while Zendesk's API fails."""
    return zendesk_tickets_fetch_service(ticket_ids=ticket_ids)


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def segment_pending_expire() -> int:
    """Nightly: tracking-API calls kept for an unknown customer past CSHUB_SEGMENT_PENDING_DAYS are deleted
    (integrations.segment.services.segment_pending_expire). Safe to run twice."""
    return segment_pending_expire_service()
