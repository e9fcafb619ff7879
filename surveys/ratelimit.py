"""The public survey pages' rate limit (docs/surveys.md#rate-limit): a fixed window per client address and per
link token, counted in Redis when REDIS_URL is set (shared by every web worker), else in Django's cache.

Two keys, because either alone fails someone: behind the README's TLS proxy every respondent of an office
shares an address (core.net.client_ip finds the real one when CSHUB_TRUSTED_PROXIES names the proxy), and a
script can hammer one token from many addresses. When Redis is down or slow the limit falls back to a
counter in this process (the web never waits on Redis for more than ~1 s and never answers 500 for it), and
Redis is not tried again for a few seconds.

No maintained library in our dependencies does both keys with that fallback; this is small enough to own.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.net import client_ip

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
        self._counts: dict[str, int] = {}
        self._bucket: int | None = None
        self.shared_down_until = 0.0

    def hit(self, name: str, bucket: int) -> int:
        with self._lock:
            if bucket != self._bucket:  # a new window: forget the old one's counts
                self._counts.clear()
                self._bucket = bucket
            self._counts[name] = self._counts.get(name, 0) + 1
            return self._counts[name]

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._bucket = None
            self.shared_down_until = 0.0


local = _LocalCounter()


def _shared_hit(name: str, window: int) -> int:
    if settings.REDIS_URL:
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, window + 1)  # the bucket is in the key: refreshing its TTL is harmless
        count, _ = pipe.execute()
        return count
    try:
        return cache.incr(name)  # one round trip in the common case
    except ValueError:  # first hit of this window
        if cache.add(name, 1, timeout=window + 1):
            return 1
        return cache.incr(name)  # another request created it in between


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one hit for `key` in the current window; False once `limit` hits were counted."""
    bucket = int(time.time() // window)
    name = f"ratelimit:{key}:{bucket}"
    if time.monotonic() >= local.shared_down_until:
        try:
            return _shared_hit(name, window) <= limit
        except Exception:  # redis.RedisError, a cache backend's own: any store failure falls back
            log.warning("rate limit store unreachable; counting in this process", exc_info=True)
            local.shared_down_until = time.monotonic() + REDIS_RETRY_AFTER
    return local.hit(name, bucket) <= limit


def _token_key(token: str) -> str:
    # The token is a secret: key the counter by a digest of it, never the token itself.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def rate_limited(scope: str) -> Callable:
    """Answer 429 with a friendly page once a client address, or one link token, exceeds its limit."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            window = settings.CSHUB_SURVEY_RATE_WINDOW
            allowed = allow(
                f"{scope}:ip:{client_ip(request)}", limit=settings.CSHUB_SURVEY_RATE_LIMIT, window=window
            )
            token = kwargs.get("token")
            if allowed and token:
                allowed = allow(
                    f"{scope}:token:{_token_key(token)}",
                    limit=settings.CSHUB_SURVEY_TOKEN_RATE_LIMIT,
                    window=window,
                )
            if not allowed:
                response = render(
                    request,
                    "surveys/public/message.html",
                    {
                        "title": "Too many requests",
                        "message": "Please wait a minute and try again.",
                        "company": settings.CSHUB_COMPANY_NAME,
                    },
                    status=429,
                )
                response["Retry-After"] = str(window)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
