"""The API's one exception handler (REST_FRAMEWORK["EXCEPTION_HANDLER"], docs/api.md).

Services raise Django's exceptions and their own; API views let them through and stay thin. This handler turns
them into the API's error answers:

- django.core.exceptions.ValidationError → 400 `{field: [messages]}`, the shape of a serializer's errors
  (a message without a field under "non_field_errors");
- PermissionDenied → 403 `{"detail": message}`; Http404 → 404 `{"detail": message}`;
- ObjectDoesNotExist → 404 `{"detail": "Not found."}`;
- core.ingest.IngestError → 400 `{"detail", "errors"}` naming every bad row (core.api.ingest_error_response);
- a core.errors.ServiceError (an app's own service exception) → its `status_code` and `api_body()`, with a
  `Retry-After` header when it has `retry_after` (core.errors.Busy);
- a database deadlock, serialization failure or lock timeout → 503 with `Retry-After` (the transaction was
  rolled back whole; the same request will work when retried, docs/operations.md#failure-rules);
- anything else: DRF's own handler (APIExceptions), or a 500.

An app maps its service exceptions without core importing it: they subclass core.errors.ServiceError.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .api import ingest_error_response
from .errors import Busy, ServiceError
from .ingest import IngestError

# deadlock_detected, serialization_failure, lock_not_available (a lock_timeout ran out)
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IngestError):
        set_rollback()
        return ingest_error_response(exc)
    if isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES:
        exc = Busy("The database was busy with a conflicting write; retry shortly.")
    if isinstance(exc, ServiceError):
        set_rollback()
        response = Response(exc.api_body(), status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    # Http404 and PermissionDenied keep their message: DRF's handler passes it on.
    return drf_exception_handler(exc, context)
