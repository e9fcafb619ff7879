"""The tracking API's endpoints (docs/integrations.md#segment-spec-tracking-api): Segment's HTTP API, so the
official Segment and RudderStack libraries work pointed at cshub with only host and write key changed.

Plain Django views, not DRF: they authenticate with the write key (HTTP Basic, the key as user name, or the
body's `writeKey` as Segment also allows), read a JSON body that may be gzipped and answer Segment's shapes —
`{"success": true}`, or an error with `code` and `message` (the clients log those two fields).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from django.db import OperationalError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import Busy
from core.exception_handlers import RETRYABLE_SQLSTATES
from core.ingest import IngestError

from .. import activity
from .keys import write_key_matches
from .mapping import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from .services import segment_batch_ingest_sql, segment_messages_ingest

CONNECTOR = "segment"
MAX_DEPTH_MESSAGE = "The JSON is nested too deeply."


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "invalid_request"):
        super().__init__(message)
        self.message = message
        self.code = code


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"success": False, "code": code, "message": message, **extra}, status=status)


def _basic_key(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """The body, gunzipped if it says so; BadRequest past `limit` bytes (after decompression)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = f"The request is larger than {limit // 1024} KB."
    if length > limit:
        raise BadRequest(too_large, "too_large")
    raw = request.read(limit + 1)
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, limit + 1)  # a bounded read: a gzip bomb stops here
        except zlib.error:
            raise BadRequest("The body is not valid gzip.") from None
    elif encoding not in ("", "identity"):
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported (gzip is).")
    if len(raw) > limit:
        raise BadRequest(too_large, "too_large")
    return raw


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(MAX_DEPTH_MESSAGE) from None
    except ValueError as exc:
        raise BadRequest(f"Invalid JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _handle(request: HttpRequest, call: str) -> JsonResponse:
    limit = MAX_BATCH_BYTES if call == "batch" else MAX_MESSAGE_BYTES
    body: Any = None
    try:
        raw = _read_body(request, limit)
        key = _basic_key(request)
        key_ok = key is not None and write_key_matches(key)
        # A batch whose Basic key is right may take the one-statement path on PostgreSQL, unparsed here.
        if key_ok and call == "batch" and connection.vendor == "postgresql":
            counts = segment_batch_ingest_sql(body=raw)
            if counts is not None:
                activity.record_received(CONNECTOR, kind=call, items=counts.pop("messages"))
                return JsonResponse({"success": True, **counts})
        body = _parse(raw)
        if key is None and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
            key_ok = write_key_matches(body["writeKey"])
        if not key_ok:
            return _error(401, "unauthorized", "Unknown write key (HTTP Basic, the write key as user name).")
        if not isinstance(body, dict):
            raise BadRequest("Send a JSON object.")
        if call == "batch":
            messages = body.get("batch")
            if not isinstance(messages, list):
                raise BadRequest('"batch" must be a list of messages.')
        else:
            messages = [body]
        counts = segment_messages_ingest(messages=messages, default_type=None if call == "batch" else call)
    except BadRequest as exc:
        activity.record_error(CONNECTOR, exc.message, kind=call, payload=_safe(body))
        return _error(400, exc.code, exc.message)
    except IngestError as exc:
        message = f"{len({e.row for e in exc.errors})} message(s) are invalid; nothing was written."
        errors = [e.as_dict() for e in exc.errors[:100]]
        activity.record_error(CONNECTOR, f"{message} {errors[:5]}", kind=call, payload=_safe(body))
        return _error(400, "invalid_request", message, errors=errors)
    except (Busy, OperationalError) as exc:
        if (
            isinstance(exc, OperationalError)
            and getattr(exc.__cause__, "sqlstate", None) not in RETRYABLE_SQLSTATES
        ):
            raise
        # A lock timeout behind another batch of the same customers: the clients retry a 503.
        response = _error(503, "busy", "Busy with concurrent writes to the same customers; retry shortly.")
        response["Retry-After"] = "2"
        return response
    activity.record_received(CONNECTOR, kind=call, items=len(messages))
    return JsonResponse({"success": True, **counts})


def _safe(body: Any) -> Any:
    """The payload kept beside an error, without the write key."""
    if isinstance(body, dict) and "writeKey" in body:
        return {**body, "writeKey": "…"}
    return body


def _endpoint(call: str):
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> JsonResponse:
        return _handle(request, call)

    view.__name__ = f"segment_{call}"
    view.__doc__ = f"POST /v1/{call} of the Segment HTTP tracking API."
    return view


batch = _endpoint("batch")
track = _endpoint("track")
identify = _endpoint("identify")
group = _endpoint("group")
page = _endpoint("page")
screen = _endpoint("screen")
