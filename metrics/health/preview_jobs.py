"""The model editor's preview as a background job.

Scoring every customer with the current and the proposed model takes a while at scale (15-25 s at 100,000
customers on two cores): too long to hold a web worker, and a page that just hangs. So the editor starts a job
(a Celery task; inline when tasks run eagerly, as in development and tests), and the page polls for it.

The job lives in the cache (Redis in production, shared by web and workers) under an unguessable key, with
the id of the user who asked: nobody else can read it. It expires after an hour.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from typing import Any

from django.core.cache import cache
from django.http import Http404

from accounts.models import User
from metrics.enqueue import health_model_preview_send

from .engine import FactorConfig, ModelConfig
from .selectors import Preview, health_model_preview

log = logging.getLogger(__name__)

TTL_SECONDS = 3600
# A job still running after this long is reported as failed (its worker died, or the queue is stuck).
GIVE_UP_SECONDS = 15 * 60


@dataclasses.dataclass
class PreviewJob:
    key: str
    user_id: int
    state: str  # "running", "done" or "failed"
    started: float
    preview: Preview | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


def _cache_key(key: str) -> str:
    return f"health-preview:{key}"


def config_to_dict(config: ModelConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    return ModelConfig(**{**data, "factors": tuple(FactorConfig(**f) for f in data["factors"])})


def preview_start(*, user: User, current: ModelConfig, proposal: ModelConfig) -> str:
    """Start scoring `proposal` against `current` on today's data; returns the job's key."""
    key = secrets.token_urlsafe(18)
    cache.set(_cache_key(key), PreviewJob(key, user.pk, "running", time.time()), TTL_SECONDS)
    health_model_preview_send(key=key, current=config_to_dict(current), proposal=config_to_dict(proposal))
    return key


def preview_run(*, key: str, current: dict[str, Any], proposal: dict[str, Any]) -> str:
    """The task's body: compute the preview and store it on the job (or mark the job failed)."""
    job = cache.get(_cache_key(key))
    if job is None:
        return "expired"
    try:
        job.preview = health_model_preview(
            current=config_from_dict(current), proposal=config_from_dict(proposal)
        )
        job.state = "done"
    except Exception:
        log.exception("health model preview %s failed", key)
        job.state = "failed"
    cache.set(_cache_key(key), job, TTL_SECONDS)
    return job.state


def preview_job(*, key: str, user: User) -> PreviewJob:
    """The job behind `key`, for the user who started it; 404 for anyone else or an unknown/expired key."""
    job = cache.get(_cache_key(key)) if key else None
    if job is None or job.user_id != user.pk:
        raise Http404("No such preview (it may have expired).")
    if job.running and time.time() - job.started > GIVE_UP_SECONDS:
        job.state = "failed"
    return job
