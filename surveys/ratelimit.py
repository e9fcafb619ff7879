"""A small fixed-window rate limiter: on Redis when REDIS_URL is set (shared by every web worker), otherwise
on Django's cache (local memory in development and tests).

No maintained library is in our dependencies for this, and a fixed window per IP is all the public survey
pages need: enough to stop a client hammering tokens, generous for a team behind one NAT.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@functools.cache
def _redis():
    """With Redis configured, one INCR+EXPIRE round trip per hit (Django's cache.incr costs two, plus a new
    client object each call); the same counters, shared by every web worker."""
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one hit for `key` in the current window; False once `limit` hits were counted."""
    bucket = int(time.time() // window)
    name = f"ratelimit:{key}:{bucket}"
    if settings.REDIS_URL:
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, window + 1)  # the bucket is in the key: refreshing its TTL is harmless
        count, _ = pipe.execute()
        return count <= limit
    try:
        count = cache.incr(name)  # one round trip in the common case
    except ValueError:  # first hit of this window
        if cache.add(name, 1, timeout=window + 1):
            return True
        count = cache.incr(name)  # another request created it in between
    return count <= limit


def rate_limited(scope: str) -> Callable:
    """Answer 429 with a friendly page once a client IP exceeds the survey rate limit."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            window = settings.CSHUB_SURVEY_RATE_WINDOW
            if not allow(
                f"{scope}:{client_ip(request)}", limit=settings.CSHUB_SURVEY_RATE_LIMIT, window=window
            ):
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
