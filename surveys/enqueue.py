"""The Celery work surveys' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from collections.abc import Sequence

from core.enqueue import delay_on_commit


def invitations_send_on_commit(*, invitation_ids: Sequence[int]) -> None:
    """surveys.tasks.invitations_send(invitation_ids), once the transaction has committed."""
    delay_on_commit("surveys.tasks.invitations_send", list(invitation_ids))
