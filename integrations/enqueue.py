"""The Celery work integrations' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from core.enqueue import delay_on_commit


def import_job_send_on_commit(*, job_id: int) -> None:
    """integrations.tasks.import_job_run(job_id), once the transaction has committed (through the outbox)."""
    delay_on_commit("integrations.tasks.import_job_run", job_id)


def webhook_deliver_on_commit(*, delivery_id: int) -> None:
    """integrations.tasks.webhook_deliver(delivery_id) once the transaction has committed (outbox)."""
    delay_on_commit("integrations.tasks.webhook_deliver", delivery_id)


def slack_deliver_on_commit(*, message_id: int) -> None:
    """integrations.tasks.slack_deliver(message_id) once the transaction has committed (outbox)."""
    delay_on_commit("integrations.tasks.slack_deliver", message_id)


def zendesk_tickets_fetch_on_commit(*, ticket_ids: list[int]) -> None:
    """integrations.tasks.zendesk_tickets_fetch(ticket_ids) once the transaction has committed (outbox)."""
    delay_on_commit("integrations.tasks.zendesk_tickets_fetch", ticket_ids)
