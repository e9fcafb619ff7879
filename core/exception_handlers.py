"""The API's one exception handler (REST_FRAMEWORK["EXCEPTION_HANDLER"], docs/api.md).

Services raise Django's exceptions and their own; API views let them through and stay thin. This handler turns
them into the API's error answers:

- django.core.exceptions.ValidationError → 400 `{field: [messages]}`, the shape of a serializer's errors
  (a message without a field under "non_field_errors");
- PermissionDenied → 403 `{"detail": message}`; Http404 → 404 `{"detail": message}`;
- ObjectDoesNotExist → 404 `{"detail": "Not found."}`;
- core.ingest.IngestError → 400 `{"detail", "errors"}` naming every bad row (core.api.ingest_error_response);
- an exception an app registered with `api_error` → the status and body it registered;
- anything else: DRF's own handler (APIExceptions), or a 500.

An app maps its service exceptions without core importing it: `api_error(RunAlreadyOpen, 409, body)` next to
the API views that call the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .api import ingest_error_response
from .ingest import IngestError

ErrorBody = Callable[[Any], dict[str, Any]]

_registered: dict[type[Exception], tuple[int, ErrorBody]] = {}


def detail_body(exc: Exception) -> dict[str, Any]:
    return {"detail": str(exc)}


def api_error(exc_type: type[Exception], status_code: int, body: ErrorBody = detail_body) -> None:
    """Answer `exc_type` and its subclasses with `status_code` and `body(exc)` (default: `{"detail": …}`)."""
    _registered[exc_type] = (status_code, body)


def _registered_for(exc: Exception) -> tuple[int, ErrorBody] | None:
    for cls in type(exc).__mro__:
        if cls in _registered:
            return _registered[cls]
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IngestError):
        set_rollback()
        return ingest_error_response(exc)
    registered = _registered_for(exc)
    if registered is not None:
        status_code, body = registered
        set_rollback()
        return Response(body(exc), status=status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    # Http404 and PermissionDenied keep their message: DRF's handler passes it on.
    return drf_exception_handler(exc, context)
