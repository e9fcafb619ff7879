"""Celery tasks for surveys: ids in, a service call, safe to run twice (docs/style.md "Tasks")."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.conf import settings

from .services import SEND_LEASE, invitations_deliver, stale_invitation_ids

# Transient delivery errors worth retrying; anything else is a bug and fails loudly.
TRANSIENT = (smtplib.SMTPException, OSError)  # OSError: refused, reset, timed out, unreachable


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,  # 1 s, 2 s, 4 s … with jitter
    retry_backoff_max=300,  # below the broker visibility_timeout (settings)
    max_retries=8,
    soft_time_limit=300,
    time_limit=360,
)
def invitations_send(self, invitation_ids: list[int]) -> dict[str, int]:
    """Email a batch of invitations; each is claimed first, so a duplicate run sends nothing twice."""
    result = invitations_deliver(invitation_ids=invitation_ids)
    if result.busy and not self.request.is_eager:
        # Another task holds these (or died holding them): look again once its lease has run out.
        invitations_send.apply_async(args=[result.busy], countdown=int(SEND_LEASE.total_seconds()) + 5)
    return {"sent": len(result.sent), "busy": len(result.busy), "skipped": len(result.skipped)}


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def invitations_requeue_stale() -> int:
    """Queue again what no task is sending: the broker was down at commit, retries ran out, a worker died.

    Safe to run at any time and as often as wanted: delivery claims each invitation, so an invitation queued
    twice is still emailed once. Meant for the beat schedule (every 15 minutes).
    """
    ids = stale_invitation_ids()
    size = max(1, settings.CSHUB_SURVEY_BATCH_SIZE)
    for start in range(0, len(ids), size):
        invitations_send.delay(ids[start : start + size])
    return len(ids)
