"""Validation of ingested rows (docs/api.md). Serializers check one row; services resolve customers, write.

Usage events do not use DRF: at ≥ 20,000 events/s a per-row serializer costs more than the database insert, so
`validate_usage_events` is a plain-Python validator that still names every bad row and field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core import fields
from core.ingest import IngestError, RowError, ingest_items
from core.validation import DATE_RANGE_MESSAGE, MIN_DATE, bad_text

from .models import Outcome, Priority

MAX_MONEY = Decimal("9999999999.99")


class MrrIngestSerializer(serializers.Serializer):
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    effective_date = fields.DateField()
    mrr = fields.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))


class TicketIngestSerializer(serializers.Serializer):
    external_id = fields.ExternalIdField()
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    opened_at = fields.DateTimeField(help_text="ISO 8601; a time without offset is in TIME_ZONE.")
    resolved_at = fields.DateTimeField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices)
    first_contact_resolution = serializers.BooleanField(required=False, allow_null=True)
    category = fields.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)

    def validate_category(self, value: str | None) -> str:
        return value or ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        latest = timezone.now() + dt.timedelta(days=1)  # as usage events: at most a day ahead (clock skew)
        for name in ("opened_at", "resolved_at"):
            if attrs.get(name) is not None and attrs[name] > latest:
                raise serializers.ValidationError({name: "This date is in the future (at most 1 day ahead)."})
        resolved = attrs.get("resolved_at")
        if resolved is not None and resolved < attrs["opened_at"]:
            raise serializers.ValidationError(
                {"resolved_at": "A ticket cannot be resolved before it was opened."}
            )
        return attrs


class RenewalIngestSerializer(serializers.Serializer):
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    due_date = fields.DateField()
    arr_due = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    renewed_arr = fields.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["outcome"] != Outcome.RENEWED and attrs.get("renewed_arr"):
            raise serializers.ValidationError({"renewed_arr": "Only a renewed renewal has a renewed ARR."})
        return attrs


class KeyFeatureIngestSerializer(serializers.Serializer):
    """A key feature (docs/api.md#key-features), upserted on `name`; an omitted description is left as it
    was."""

    name = fields.CharField(
        max_length=100, trim_whitespace=False, help_text="As sent in usage events' `feature`; exact match."
    )
    description = fields.CharField(max_length=200, required=False, allow_blank=True)

    def validate_name(self, value: str) -> str:
        # Matched exactly against usage events' `feature`, which refuses surrounding whitespace too.
        if value != value.strip():
            raise serializers.ValidationError("Must not start or end with whitespace.")
        return value


class KeyFeatureSerializer(serializers.Serializer):
    name = fields.CharField()
    description = fields.CharField()


# --- Usage events: plain Python -------------------------------------------------------------------

_MAX_LEN = {"event_id": 200, "customer": 100, "user_id": 200, "feature": 100}
_MAX_QUANTITY = 2_147_483_647


def _parse_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        # Python 3.11 reads every ISO 8601 form DRF accepts ("Z", offsets, fractions, date-only).
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _validate_event_slowly(
    i: int, item: Any, tz: dt.tzinfo, latest: dt.datetime, errors: list[RowError]
) -> dict[str, Any] | None:
    """One event, every field checked and every error recorded; None when the row is bad."""
    if type(item) is not dict:
        errors.append(RowError(i, "non_field_errors", "Expected a JSON object."))
        return None
    row_ok = True
    out: dict[str, Any] = {}
    for name in ("event_id", "customer", "user_id", "feature"):
        value = item.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            message = "This field is required." if value in (None, "") else "Not a valid string."
            errors.append(RowError(i, name, message))
            row_ok = False
        elif bad_text(value):
            errors.append(RowError(i, name, bad_text(value)))
            row_ok = False
        elif len(value.strip()) > _MAX_LEN[name]:
            errors.append(
                RowError(i, name, f"Ensure this field has no more than {_MAX_LEN[name]} characters.")
            )
            row_ok = False
        else:
            out[name] = value.strip()
    occurred = _parse_datetime(item.get("occurred_at"), tz)
    if occurred is None:
        missing = item.get("occurred_at") in (None, "")
        errors.append(
            RowError(i, "occurred_at", "This field is required." if missing else "Not an ISO 8601 datetime.")
        )
        row_ok = False
    elif occurred > latest:
        errors.append(RowError(i, "occurred_at", "This date is in the future (at most 1 day ahead)."))
        row_ok = False
    elif occurred.date() < MIN_DATE:
        errors.append(RowError(i, "occurred_at", DATE_RANGE_MESSAGE))
        row_ok = False
    out["occurred_at"] = occurred
    quantity = item.get("quantity", 1)
    if quantity is None or quantity == "":
        quantity = 1
    elif isinstance(quantity, str) and quantity.strip().isascii() and quantity.strip().isdigit():
        quantity = int(quantity)  # CSV imports send text
    if type(quantity) is not int or not 1 <= quantity <= _MAX_QUANTITY:
        errors.append(RowError(i, "quantity", "Ensure this value is a whole number of at least 1."))
        row_ok = False
    out["quantity"] = quantity
    return out if row_ok else None


def validate_usage_events(payload: Any) -> list[dict[str, Any]]:
    """Validate one event or a list of up to MAX_ROWS; raise IngestError with every bad row and field.

    Returns dicts with event_id, customer (external_id), user_id, feature, occurred_at (aware), quantity and,
    on the fast path, occurred_at_text (the same instant as ISO 8601 text with an offset).
    """
    items = ingest_items(payload)
    tz = timezone.get_current_timezone()
    latest = timezone.now() + dt.timedelta(days=1)
    errors: list[RowError] = []
    valid: list[dict[str, Any]] = []
    append = valid.append
    fromisoformat = dt.datetime.fromisoformat
    for i, item in enumerate(items):
        # Fast path for a well-formed event (the 10,000-per-request case); anything unusual takes the slow
        # path below, which names every bad field.
        if type(item) is dict:
            event_id = item.get("event_id")
            customer = item.get("customer")
            user_id = item.get("user_id")
            feature = item.get("feature")
            occurred_at = item.get("occurred_at")
            quantity = item.get("quantity", 1)
            if (
                type(event_id) is str
                and type(customer) is str
                and type(user_id) is str
                and type(feature) is str
                and type(occurred_at) is str
                and type(quantity) is int
                and 0 < len(event_id) <= 200
                and 0 < len(customer) <= 100
                and 0 < len(user_id) <= 200
                and 0 < len(feature) <= 100
                and 1 <= quantity <= _MAX_QUANTITY
                and len(occurred_at) >= 10
                and not (event_id[0].isspace() or event_id[-1].isspace() or customer[-1].isspace())
                and not (user_id[0].isspace() or user_id[-1].isspace() or feature[-1].isspace())
                and not (customer[0].isspace() or feature[0].isspace())
                and bad_text(event_id + customer + user_id + feature) is None
            ):
                try:
                    occurred = fromisoformat(occurred_at)
                except ValueError:
                    occurred = None
                if occurred is not None:
                    if occurred.tzinfo is None:
                        occurred = occurred.replace(tzinfo=tz)
                        occurred_at = occurred.isoformat()
                    if occurred.date() >= MIN_DATE and occurred <= latest:
                        append(
                            {
                                "event_id": event_id,
                                "customer": customer,
                                "user_id": user_id,
                                "feature": feature,
                                "occurred_at": occurred,
                                "quantity": quantity,
                                # ISO text with its offset, for PostgreSQL to parse (see services).
                                "occurred_at_text": occurred_at,
                            }
                        )
                        continue
        row = _validate_event_slowly(i, item, tz, latest, errors)
        if row is not None:
            append(row)
    if errors:
        raise IngestError(errors)
    return valid
