"""The Celery work integrations' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from core.enqueue import delay_on_commit


def import_job_send_on_commit(*, job_id: int) -> None:
    """integrations.tasks.import_job_run(job_id), once the transaction has committed (through the outbox)."""
    delay_on_commit("integrations.tasks.import_job_run", job_id)
