"""A small fixed-window rate limiter shared by every web worker (docs/operations.md#rate-limits): counted in
Redis when REDIS_URL is set, else in Django's cache (local memory in development and tests).

When Redis (or the cache) is down or slow, counting falls back to this process (the web never waits on Redis
for more than ~1 s and never answers 500 for it), and the shared store is not tried again for a few seconds.
Used by the public survey pages (surveys.ratelimit) and the API's wrong-token limit (accounts.authentication).

No maintained library in our dependencies counts in Redis with that fallback; this is small enough to own.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.5  # seconds per connect and per command: a hung Redis costs a request at most ~1 s
REDIS_RETRY_AFTER = 10.0  # seconds without Redis after a failure, so an outage does not slow every request


@functools.cache
def _redis():
    """With Redis configured, one INCR+EXPIRE round trip per hit (Django's cache.incr costs two, plus a new
    client object each call); the same counters, shared by every web worker."""
    import redis

    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )


class _LocalCounter:
    """Fixed-window counters in this process: the fallback while the shared store is unreachable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # name -> (count, end of its window)
        self.shared_down_until = 0.0

    def hit(self, name: str, window_end: float, *, add: int = 1) -> int:
        with self._lock:
            now = time.time()
            if len(self._counts) > 10_000:  # forget ended windows (a flood of distinct addresses)
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count, end = self._counts.get(name, (0, window_end))
            self._counts[name] = (count + add, end)
            return count + add

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.shared_down_until = 0.0


local = _LocalCounter()


def _shared_hit(name: str, window: int, *, add: int) -> int:
    if settings.REDIS_URL:
        if not add:
            return int(_redis().get(name) or 0)
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(name, add)
        pipe.expire(name, window + 1)  # the bucket is in the key: refreshing its TTL is harmless
        count, _ = pipe.execute()
        return count
    if not add:
        return int(cache.get(name) or 0)
    try:
        return cache.incr(name, add)  # one round trip in the common case
    except ValueError:  # first hit of this window
        if cache.add(name, add, timeout=window + 1):
            return add
        return cache.incr(name, add)  # another request created it in between


def _count(key: str, window: int, *, add: int) -> int:
    bucket = int(time.time() // window)
    name = f"ratelimit:{key}:{bucket}"
    if time.monotonic() >= local.shared_down_until:
        try:
            return _shared_hit(name, window, add=add)
        except Exception:  # redis.RedisError, a cache backend's own: any store failure falls back
            log.warning("rate limit store unreachable; counting in this process", exc_info=True)
            local.shared_down_until = time.monotonic() + REDIS_RETRY_AFTER
    return local.hit(name, (bucket + 1) * window, add=add)


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one hit for `key` in the current window; False once `limit` hits were counted."""
    return _count(key, window, add=1) <= limit


def exceeded(key: str, *, limit: int, window: int) -> bool:
    """True when `key` already has `limit` hits in the current window (counts nothing)."""
    return _count(key, window, add=0) >= limit
