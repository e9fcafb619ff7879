"""The Celery work playbooks' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from collections.abc import Sequence

from core.enqueue import delay_on_commit


def runs_notify_on_commit(*, assignee_id: int, run_ids: Sequence[int]) -> None:
    """playbooks.tasks.runs_notify(assignee_id, run_ids), once the transaction has committed."""
    delay_on_commit("playbooks.tasks.runs_notify", assignee_id, list(run_ids))
