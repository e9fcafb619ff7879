"""The model editor's preview as a background job.

Scoring every customer with the current and the proposed model takes a while at scale (15-25 s at 100,000
customers on two cores): too long to hold a web worker, and a page that just hangs. So the editor starts a job
(a Celery task; inline when tasks run eagerly, as in development and tests), and the page polls for it.

The job lives in the cache (Redis in production, shared by web and workers) under an unguessable key, with
the id of the user who asked: nobody else can read it. It expires after an hour.

Without Redis (down or hung: the cache and the broker fail within ~1 s) there is no job to store or queue.
`preview_begin` then scores the preview in the request when the install is small enough for that to take a
few seconds, and otherwise answers a job in the state "unavailable", which the page explains
(docs/operations.md#failure-rules).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from typing import Any

from django.core.cache import cache
from django.http import Http404
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from accounts.models import Customer, User
from metrics.enqueue import health_model_preview_send

from .engine import FactorConfig, ModelConfig
from .selectors import Preview, health_model_preview

log = logging.getLogger(__name__)

TTL_SECONDS = 3600
# Without Redis, up to this many customers are scored in the request (a few seconds; 100,000 take ~20 s).
INLINE_LIMIT = 20_000
QUEUE_ERRORS = (RedisError, BrokerError, OSError)
# A job still running after this long is reported as failed (its worker died, or the queue is stuck).
GIVE_UP_SECONDS = 15 * 60


@dataclasses.dataclass
class PreviewJob:
    key: str
    user_id: int
    state: str  # "running", "done", "failed", or "unavailable" (no Redis, too many customers to do inline)
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


def preview_begin(*, user: User, current: ModelConfig, proposal: ModelConfig) -> PreviewJob:
    """The job the editor shows after "Preview": queued (running), or, with Redis unreachable, computed in
    this request (done) or refused with a reason (unavailable)."""
    try:
        return preview_job(key=preview_start(user=user, current=current, proposal=proposal), user=user)
    except QUEUE_ERRORS as exc:
        log.warning("health model preview without the task queue: %s", exc)
    job = PreviewJob("", user.pk, "unavailable", time.time())
    if Customer.objects.count() <= INLINE_LIMIT:
        job.preview = health_model_preview(current=current, proposal=proposal)
        job.state = "done"
    return job


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
    try:
        job = cache.get(_cache_key(key)) if key else None
    except QUEUE_ERRORS:  # Redis went away while the page polled: say so rather than fail
        return PreviewJob(key, user.pk, "unavailable", time.time())
    if job is None or job.user_id != user.pk:
        raise Http404("No such preview (it may have expired).")
    if job.running and time.time() - job.started > GIVE_UP_SECONDS:
        job.state = "failed"
    return job
