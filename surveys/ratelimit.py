"""The public survey pages' rate limit (docs/surveys.md#rate-limit): a fixed window per client address and per
link token, on core.ratelimit (Redis shared by every web worker; a local count while Redis is down).

Two keys, because either alone fails someone: behind the README's TLS proxy every respondent of an office
shares an address (core.net.client_ip finds the real one when CSHUB_TRUSTED_PROXIES names the proxy), and a
script can hammer one token from many addresses.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.net import client_ip
from core.ratelimit import allow


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
