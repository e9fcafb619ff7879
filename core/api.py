"""API building blocks shared by the apps: the ingestion view and permission classes
(docs/architecture.md#roles-and-permissions and docs/api.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .ingest import MAX_ROWS, IngestError, RowError, ingest_items
from .parsers import StrictJSONParser
from .sql import set_local_lock_timeout

_ROW_PATH = re.compile(r"^\[(\d+)\]\.?(.*)$")  # "[30].name" from core.parsers: row 30, field "name"


def ingest_payload(request: Request) -> Any:
    """`request.data`; a body the parser refuses (core.parsers) raises IngestError, so an ingestion endpoint
    answers every 400 in its one shape, naming the row and field."""
    try:
        return request.data
    except ParseError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": [exc.detail]}
        errors = []
        for where, messages in detail.items():
            m = _ROW_PATH.match(str(where))
            row, field = (int(m[1]), m[2] or "non_field_errors") if m else (0, str(where))
            errors += [RowError(row, field, str(message)) for message in messages]
        raise IngestError(errors) from exc


# Seconds an ingestion request waits for the customers another request is writing (then 503, Retry-After).
INGEST_LOCK_TIMEOUT = 20  # under gunicorn's 30 s


def validate_rows(
    serializer_class: type[serializers.Serializer], payload: Any, *, context: dict | None = None
) -> list[dict[str, Any]]:
    """Validate one object or a list of up to MAX_ROWS; raise IngestError naming every bad row and field.

    Per-row validation must not query: resolve references (customer external_ids, emails) for all rows at once
    in the upsert service and raise RowErrors there (see accounts.services.customers_upsert), rather than use
    a RelatedField, which runs one query per row.
    """
    items = ingest_items(payload)
    errors: list[RowError] = []
    valid: list[dict[str, Any]] = []
    # One serializer instance validates every row, as ListSerializer does with its child: building a
    # serializer deep-copies its fields, which costs more than validating a row (10,000 rows: ~4 s → <1 s).
    ser = serializer_class(context=context or {})
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(RowError(i, "non_field_errors", "Expected a JSON object."))
            continue
        ser.initial_data = item  # for serializers whose validate() looks at the raw input
        try:
            valid.append(ser.run_validation(item))
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            for name, messages in detail.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    errors.append(RowError(i, name, str(message)))
    if errors:
        raise IngestError(errors)
    return valid


def ingest_error_response(exc: IngestError) -> Response:
    """The 400 of an ingestion request with bad rows; core.exception_handlers answers every IngestError so."""
    return Response(
        {
            "detail": f"{len({e.row for e in exc.errors})} row(s) are invalid; nothing was written.",
            "errors": [e.as_dict() for e in exc.errors[:1000]],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class IngestCountsSerializer(serializers.Serializer):
    """The answer of an ingestion endpoint (OpenAPI only)."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class IngestRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="0-based index in the posted list (0 for a single object).")
    field = serializers.CharField(help_text='The offending field, or "non_field_errors".')
    message = serializers.CharField()


class IngestErrorSerializer(serializers.Serializer):
    """A 400 from an ingestion endpoint: nothing was written (OpenAPI only)."""

    detail = serializers.CharField()
    errors = IngestRowErrorSerializer(many=True)


def ingest_request_schema(serializer_class: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    """OpenAPI request body of an ingestion endpoint: one object or a list of up to MAX_ROWS of them."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return PolymorphicProxySerializer(
        component_name=f"{name}OneOrList",
        serializers=[serializer_class, serializer_class(many=True, max_length=MAX_ROWS)],
        resource_type_field_name=None,
        many=False,
    )


class IngestAutoSchema(AutoSchema):
    """Documents an IngestAPIView's POST from its `serializer_class`; a subclass's `extend_schema` wins."""

    def get_request_serializer(self) -> Any:
        if self.method == "POST":
            return ingest_request_schema(self.view.serializer_class)
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        if self.method == "POST":
            return {200: IngestCountsSerializer, 400: IngestErrorSerializer}
        return super().get_response_serializers()


class IngestAPIView(APIView):
    """POST one object or a list; validate all, then call `upsert(rows=...)` which returns a counts dict."""

    schema = IngestAutoSchema()
    parser_classes = [StrictJSONParser]  # the default too; a list of objects has no form encoding
    serializer_class: type[serializers.Serializer]
    upsert: Callable[..., dict[str, int]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Who may ingest is decided in accounts (accounts.visibility.IsAdminRole), which core may not import:
        # every ingestion view names its permissions, so none can fall back to "any signed-in user".
        super().__init_subclass__(**kwargs)
        if "permission_classes" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} must set permission_classes (who may ingest).")

    def get_serializer_context(self) -> dict:
        return {"request": self.request}

    def post(self, request: Request) -> Response:
        return ingest_response(
            ingest_payload(request),
            self.serializer_class,
            type(self).upsert,
            context=self.get_serializer_context(),
        )


def ingest_response(
    payload: Any,
    serializer_class: type[serializers.Serializer],
    upsert: Callable[..., dict[str, int]],
    *,
    context: dict | None = None,
) -> Response:
    """Validate `payload` (one object or a list), upsert it, answer the counts. An IngestError (bad rows, from
    validation or the upsert) becomes a 400 naming every row error in core.exception_handlers.

    IngestAPIView.post in one function, for views that answer other methods too (GET /api/v1/customers/).
    """
    rows: Sequence[dict[str, Any]] = validate_rows(serializer_class, payload, context=context)
    with transaction.atomic():
        # Waiting for another batch of the same customers (docs/operations.md#failure-rules) is bounded: past
        # INGEST_LOCK_TIMEOUT the request is a 503 with Retry-After, well before a proxy gives up on it.
        set_local_lock_timeout(INGEST_LOCK_TIMEOUT)
        counts = upsert(rows=rows)
    return Response(counts, status=status.HTTP_200_OK)
