"""The Celery work metrics' services queue, by task name (core.enqueue says why not by import)."""

from __future__ import annotations

from typing import Any

from core.enqueue import delay


def health_model_preview_send(*, key: str, current: dict[str, Any], proposal: dict[str, Any]) -> None:
    """metrics.tasks.health_model_preview_run(key, current, proposal), now (inline when tasks run eagerly)."""
    delay("metrics.tasks.health_model_preview_run", key, current, proposal)
