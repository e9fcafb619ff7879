"""The Celery work playbooks' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.enqueue import delay_on_commit


def runs_notify_on_commit(*, assignee_id: int, run_ids: Sequence[int]) -> None:
    """playbooks.tasks.runs_notify(assignee_id, run_ids), once the transaction has committed."""
    delay_on_commit("playbooks.tasks.runs_notify", assignee_id, list(run_ids))


def runs_notify_many_on_commit(*, by_assignee: Mapping[int, Sequence[int]]) -> None:
    """playbooks.tasks.runs_notify_many: one task for several assignees' new runs, once committed."""
    delay_on_commit(
        "playbooks.tasks.runs_notify_many", [[a, list(ids)] for a, ids in sorted(by_assignee.items())]
    )
