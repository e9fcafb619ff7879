"""The input domain every edge checks (docs/api.md#bad-input): ids, dates, text, query parameters.

One place says what a valid external id, date or piece of text is, so the API, CSV imports and forms refuse
the same things with the same messages, and the HTML pages and the API answer a query parameter outside its
domain with a 400 naming it rather than a 500 from the database or the calendar.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

# external_id appears in URLs (/customers/<external_id>/): letters, digits and ". _ : -" only, so that every
# id reverses to a URL and none is a look-alike of another (zero-width, RTL or homoglyph characters).
EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9._:-]+")
EXTERNAL_ID_MESSAGE = 'Use only letters A-Z, digits and ". _ : -" (it appears in URLs).'

# Dates a customer-success record can have: anything outside is a typo or a fuzzer, and the calendar's own
# edges (year 1 and 9999) break date arithmetic ("the day before", "the quarter after").
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
DATE_RANGE_MESSAGE = "Enter a date between 1900-01-01 and 2100-12-31."

# C0 controls but tab, newline and carriage return; DEL and the C1 controls. PostgreSQL refuses NUL in text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # one-line text: no newline or tab either
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
CONTROL_MESSAGE = "Remove the control characters (NUL and the like) from this text."
LINE_MESSAGE = "Use one line: no newline, tab or other control character."
SURROGATE_MESSAGE = "This text is not valid Unicode (a lone surrogate)."


def validate_external_id(value: str) -> None:
    """Django/DRF validator: the charset above, and not only dots ("." and ".." are path segments)."""
    if not EXTERNAL_ID_RE.fullmatch(value or "") or set(value) == {"."}:
        raise ValidationError(EXTERNAL_ID_MESSAGE, code="external_id")


def validate_text(value: str, *, multiline: bool = True) -> None:
    """No control characters (tab/newline allowed where `multiline`) and no lone surrogates."""
    if not isinstance(value, str):
        return
    if _SURROGATE_RE.search(value):
        raise ValidationError(SURROGATE_MESSAGE, code="surrogate")
    if _CONTROL_RE.search(value):
        raise ValidationError(CONTROL_MESSAGE, code="control_characters")
    if not multiline and _LINE_CONTROL_RE.search(value):
        raise ValidationError(LINE_MESSAGE, code="one_line")


def validate_line(value: str) -> None:
    """validate_text for one-line text (names, ids, email header values): no newline or tab either."""
    validate_text(value, multiline=False)


def bad_text(value: str) -> str | None:
    """The message validate_text would raise for `value`, or None."""
    try:
        validate_text(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def normalize(value: str) -> str:
    """NFC: the same text typed on two keyboards is the same string (and compares equal in the database)."""
    return unicodedata.normalize("NFC", value) if not value.isascii() else value


def validate_date_range(value: dt.date | dt.datetime | None) -> None:
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")


class BadQuery(ValidationError):
    """A query parameter outside its domain; answered 400 naming it (HTML pages and the API alike)."""

    def __init__(self, name: str, message: str):
        super().__init__({name: [message]})
        self.name = name
        self.message_text = message


def query_date(params: Mapping[str, Any], name: str, *, default: dt.date | None = None) -> dt.date | None:
    """`params[name]` as a YYYY-MM-DD date between MIN_DATE and MAX_DATE; missing or empty: `default`."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not raw.isascii():
        raise BadQuery(name, "Enter a date as YYYY-MM-DD.")
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(name, "Enter a date as YYYY-MM-DD.") from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise BadQuery(name, DATE_RANGE_MESSAGE)
    return value


def query_int(
    params: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    min_value: int = 0,
    max_value: int = 1_000_000,
) -> int | None:
    """`params[name]` as an ASCII decimal integer in [min_value, max_value]; missing or empty: `default`."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20:
        raise BadQuery(name, "Enter a whole number.")
    value = int(raw)
    if not min_value <= value <= max_value:
        raise BadQuery(name, f"Enter a whole number from {min_value} to {max_value}.")
    return value
