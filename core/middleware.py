"""Request checks made once, before any view runs (docs/api.md#bad-input).

- Query parameters and form fields with control characters (NUL…) or lone surrogates are refused with a 400
  naming the parameter: no view, form or query has to guard against them, and PostgreSQL (which refuses NUL
  in text) never sees one.
- An anonymous request's body is capped at ANONYMOUS_MAX_BODY (the login and survey forms are a few hundred
  bytes); the larger DATA_UPLOAD_MAX_MEMORY_SIZE is for signed-in users. JSON bodies have their own limit in
  core.parsers.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict

from .validation import BadQuery, bad_text

ANONYMOUS_MAX_BODY = 64 * 1024
# Paths whose requests authenticate themselves (an API token, a write key, a webhook signature) and cap their
# own bodies: the API (core.parsers), the tracking API at /v1/ (500 KB, docs/integrations.md) and the
# connectors' webhooks under /integrations/.
SELF_LIMITED_PREFIXES = ("/api/", "/v1/", "/integrations/")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _first_bad_parameter(params: QueryDict) -> tuple[str, str] | None:
    for name, values in params.lists():
        if message := bad_text(name):
            return "parameter name", message  # the name itself cannot be echoed back
        for value in values:
            if message := bad_text(value):
                return name, message
    return None


def bad_request(request: HttpRequest, field: str, message: str, *, status: int = 400) -> HttpResponse:
    """A 400 (or 413) naming the field: JSON under /api/ (`{field: [message]}`, as DRF answers), else text."""
    if request.path.startswith("/api/"):
        return JsonResponse({field: [message]}, status=status)
    return HttpResponse(
        f"Bad request: {field}: {message}", status=status, content_type="text/plain; charset=utf-8"
    )


class InputLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = _first_bad_parameter(request.GET)
        if bad:
            return bad_request(request, *bad)
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            # API clients authenticate by token, which DRF checks later: core.parsers caps their bodies.
            anonymous = not request.user.is_authenticated and not request.path.startswith(
                SELF_LIMITED_PREFIXES
            )
            limit = ANONYMOUS_MAX_BODY if anonymous else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if length > limit:
                return bad_request(
                    request, "body", f"The request is too large (at most {limit:,} bytes).", status=413
                )
            # The API reads JSON only (core.parsers checks it); reading its body here would hide DRF's 415.
            if request.content_type in _FORM_TYPES and not request.path.startswith("/api/"):
                bad = _first_bad_parameter(request.POST)
                if bad:
                    return bad_request(request, *bad)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A query parameter outside its domain, found by a view (core.validation.query_*): 400 naming it."""
        if isinstance(exception, BadQuery):
            return bad_request(request, exception.name, exception.message_text)
        return None
