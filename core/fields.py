"""DRF fields with the input domain of core.validation (docs/api.md#bad-input); every serializer uses these.

DRF's own fields accept what the API must refuse: CharField coerces `123` to "123" and lets NUL through (a 500
from PostgreSQL), DateField takes years 1 and 9999 (then date arithmetic fails), IntegerField and
DecimalField read non-ASCII digits ("٣" is 3). These subclasses refuse all of that with a field message, and
answer exactly as DRF's on output. tests/security/test_fields.py holds every serializer to them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .validation import normalize, validate_date_range, validate_external_id, validate_text

EXTERNAL_ID_MAX_LENGTH = 100


def _django_errors(check: Any, value: Any) -> None:
    try:
        check(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from exc


def _ascii_only(data: Any) -> None:
    if isinstance(data, str) and not data.isascii():
        raise serializers.ValidationError("Use the digits 0-9 (no other script's digits).", code="invalid")


class CharField(serializers.CharField):
    """Text: a JSON string only (no number coerced), no control characters (`multiline`: tab and newline
    allowed), NFC-normalised."""

    default_error_messages = {"not_a_string": "Send a string."}

    def __init__(self, *, multiline: bool = True, allow_integer: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        self.allow_integer = allow_integer  # "an id or a name": 42 reads as "42"
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if self.allow_integer and type(data) is int:
            data = str(data)
        if not isinstance(data, str):
            self.fail("not_a_string")
        _django_errors(lambda v: validate_text(v, multiline=self.multiline), data)
        return normalize(super().to_internal_value(data))


class EmailField(serializers.EmailField):
    """An email address; control characters are refused, not trimmed away (DRF strips "\x1e" to "",
    which an optional email reads as "none")."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            _django_errors(lambda v: validate_text(v, multiline=False), data)
        return super().to_internal_value(data)


class ExternalIdField(CharField):
    """An external id (ours or a customer reference): [A-Za-z0-9._:-], at most 100 characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EXTERNAL_ID_MAX_LENGTH)
        kwargs.setdefault("validators", []).append(validate_external_id)
        super().__init__(multiline=False, **kwargs)


class DateField(serializers.DateField):
    """YYYY-MM-DD in ASCII digits, between 1900-01-01 and 2100-12-31."""

    def to_internal_value(self, value: Any) -> Any:
        _ascii_only(value)
        result = super().to_internal_value(value)
        _django_errors(validate_date_range, result)
        return result


class DateTimeField(serializers.DateTimeField):
    """ISO 8601 in ASCII digits, on a day between 1900-01-01 and 2100-12-31."""

    def to_internal_value(self, value: Any) -> Any:
        _ascii_only(value)
        result = super().to_internal_value(value)
        _django_errors(validate_date_range, result)
        return result


class IntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        _ascii_only(data)
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    def to_internal_value(self, data: Any) -> Any:
        _ascii_only(data)
        return super().to_internal_value(data)
