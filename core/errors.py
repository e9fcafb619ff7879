"""Service exceptions that know their API answer (docs/api.md).

A service raises Django's own exceptions (ValidationError, PermissionDenied, Http404) where they fit; where it
needs one of its own that the API must answer with a particular status, it subclasses ServiceError, and the
one exception handler (core.exception_handlers) answers `status_code` with `api_body()`. So core maps an
app's exception without importing the app, and without a registry filled at import time.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal of a service that the API answers with `status_code` and `api_body()`."""

    status_code = 400

    def api_body(self) -> dict[str, Any]:
        return {"detail": str(self)}


class Conflict(ServiceError):
    """The request clashes with the current state (409)."""

    status_code = 409


class Busy(ServiceError):
    """A concurrent write got in the way and retrying will work (503 with Retry-After, never a 400: clients
    retry 5xx, 409 and 429 but drop a 400)."""

    status_code = 503
    retry_after = 2
