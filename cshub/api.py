"""API building blocks shared by the apps: the ingestion view and permission classes (DESIGN.md §3–4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .ingest import MAX_ROWS, IngestError, RowError


class IsAdminRole(permissions.BasePermission):
    """Ingestion, imports, users and tokens: admins only (DESIGN.md §3)."""

    message = "Only admins may use the ingestion API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.role == "admin")


def validate_rows(
    serializer_class: type[serializers.Serializer], payload: Any, *, context: dict | None = None
) -> list[dict[str, Any]]:
    """Validate one object or a list of up to MAX_ROWS; raise IngestError naming every bad row and field."""
    if isinstance(payload, dict):
        items = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        raise IngestError([RowError(0, "non_field_errors", "Send a JSON object or a list of objects.")])
    if not items:
        raise IngestError([RowError(0, "non_field_errors", "The list is empty.")])
    if len(items) > MAX_ROWS:
        raise IngestError(
            [RowError(0, "non_field_errors", f"At most {MAX_ROWS:,} objects per request ({len(items):,} sent).")]
        )
    errors: list[RowError] = []
    valid: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(RowError(i, "non_field_errors", "Expected a JSON object."))
            continue
        ser = serializer_class(data=item, context=context or {})
        if ser.is_valid():
            valid.append(ser.validated_data)
        else:
            for name, messages in ser.errors.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    errors.append(RowError(i, name, str(message)))
    if errors:
        raise IngestError(errors)
    return valid


def ingest_error_response(exc: IngestError) -> Response:
    return Response(
        {
            "detail": f"{len({e.row for e in exc.errors})} row(s) are invalid; nothing was written.",
            "errors": [e.as_dict() for e in exc.errors[:1000]],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class IngestAPIView(APIView):
    """POST one object or a list; validate all, then call `upsert(rows=...)` which returns a counts dict."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]
    serializer_class: type[serializers.Serializer]
    upsert: Callable[..., dict[str, int]]

    def get_serializer_context(self) -> dict:
        return {"request": self.request}

    def post(self, request: Request) -> Response:
        try:
            rows: Sequence[dict[str, Any]] = validate_rows(
                self.serializer_class, request.data, context=self.get_serializer_context()
            )
            counts = type(self).upsert(rows=rows)
        except IngestError as exc:
            return ingest_error_response(exc)
        return Response(counts, status=status.HTTP_200_OK)
