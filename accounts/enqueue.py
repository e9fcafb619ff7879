"""The Celery work accounts' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from core.enqueue import delay_on_commit


def user_invite_email_on_commit(*, user_id: int) -> None:
    """accounts.tasks.user_invite_email(user_id), once the transaction has committed."""
    delay_on_commit("accounts.tasks.user_invite_email", user_id)


def notification_email_on_commit(*, notification_id: int) -> None:
    """accounts.tasks.notification_email(notification_id), once the transaction has committed."""
    delay_on_commit("accounts.tasks.notification_email", notification_id)
