"""The API's one JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"], docs/api.md#bad-input).

DRF's JSONParser reads any size, any depth (a deeply nested body ends in a RecursionError: a 500), lets a
duplicated key win silently and hands on NUL, lone surrogates and un-normalised text. This one refuses, with
a 400 naming where:

- a body over settings.CSHUB_MAX_BODY_BYTES (413);
- nesting deeper than MAX_DEPTH;
- a key given twice in one object;
- control characters (but tab/newline) or lone surrogates in any string, key or value;

and hands every string on NFC-normalised.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from .validation import bad_text, normalize

# The deepest body the API documents is 3 levels (a list of objects whose field is an object); 32 leaves room
# for any future shape and is far below the interpreter's recursion limit.
MAX_DEPTH = 32


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class _DuplicateKey(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _where(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)) or (
        "body"
    )


def _clean(value: Any) -> Any:
    """Check and normalise every string of `value`, iteratively (no recursion to exhaust)."""
    root = [value]
    stack: list[tuple[Any, Any, list[str | int], int]] = [(root, 0, [], 0)]
    while stack:
        container, slot, path, depth = stack.pop()
        item = container[slot]
        if depth > MAX_DEPTH:
            raise ParseError({"body": [f"JSON nested deeper than {MAX_DEPTH} levels."]})
        if isinstance(item, str):
            message = bad_text(item)
            if message:
                raise ParseError({_where(path): [message]})
            container[slot] = normalize(item)
        elif isinstance(item, list):
            stack.extend((item, i, [*path, i], depth + 1) for i in range(len(item)))
        elif isinstance(item, dict):
            fresh = {}
            for key, sub in item.items():
                message = bad_text(key)
                if message:
                    raise ParseError({_where(path): [f"A key: {message}"]})
                if normalize(key) in fresh:  # two spellings of one key (NFC and not)
                    raise ParseError({normalize(key): ["This key is given twice in one object."]})
                fresh[normalize(key)] = sub
            item.clear()
            item.update(fresh)
            stack.extend((item, key, [*path, key], depth + 1) for key in item)
    return root[0]


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = settings.CSHUB_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit:,} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not valid UTF-8.") from None
        try:
            data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
        except _DuplicateKey as exc:
            raise ParseError({str(exc): ["This key is given twice in one object."]}) from None
        except RecursionError:
            raise ParseError({"body": [f"JSON nested deeper than {MAX_DEPTH} levels."]}) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return _clean(data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
