"""Celery tasks for accounts: ids in, a service call (docs/style.md "Tasks")."""

from __future__ import annotations

import smtplib

from celery import shared_task

from . import notifications, people

TRANSIENT = (smtplib.SMTPException, ConnectionError, TimeoutError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, time_limit=120)
def user_invite_email(user_id: int) -> bool:
    """Email a new user their set-password link (sent again by a retry: the link stays valid)."""
    return people.user_invite_email(user_id=user_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, time_limit=120)
def notification_email(notification_id: int) -> bool:
    """Email one notification to a user who wants them at once (claimed: a second run sends nothing)."""
    return notifications.notification_email_send(notification_id=notification_id)


@shared_task(acks_late=True, soft_time_limit=480, time_limit=540)
def notifications_digest() -> int:
    """Daily: each digest user's unsent notifications in one email."""
    return notifications.notifications_digest_send()
