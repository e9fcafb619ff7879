"""The Celery work metrics' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from typing import Any

from core.enqueue import delay, delay_on_commit


def health_model_preview_send(*, key: str, current: dict[str, Any], proposal: dict[str, Any]) -> None:
    """metrics.tasks.health_model_preview_run(key, current, proposal), now (inline when tasks run eagerly)."""
    delay("metrics.tasks.health_model_preview_run", key, current, proposal)


def health_recompute_job_send(*, job_id: int) -> None:
    """metrics.tasks.health_recompute_job(job_id), once the current transaction commits (at once outside
    one)."""
    delay_on_commit("metrics.tasks.health_recompute_job", job_id)


def health_backtest_job_send(*, job_id: int) -> None:
    """metrics.tasks.health_backtest_job(job_id), once the current transaction commits."""
    delay_on_commit("metrics.tasks.health_backtest_job", job_id)
