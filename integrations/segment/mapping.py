"""Segment-spec messages → the rows cshub's ingestion services take
(docs/integrations.md#segment-spec-tracking-api).

Everything is validated here, before anything is written: a batch with one bad message is refused whole
(400 naming the message and the field), as the REST API refuses a list.

- `group` → a customer: `groupId` is its external_id; traits `name`, `plan` (→ segment), `licenses` or
  `seats` (→ licenses). The user's link to the group is remembered for its later calls.
- `identify` → a contact: traits `email` (required; without one the call only counts), `name` (or
  `firstName` + `lastName`), `title`.
- `track` / `page` / `screen` → a usage event: `messageId` is the event_id, `event` (track) or `name` (page,
  screen; else the call's type) the feature, `userId` or else `anonymousId` the user.
- The customer of identify/track/page/screen: `context.groupId`, else the user's last `group` call.
- `alias` and unknown types are accepted and ignored, as Segment's destinations do with calls they don't use.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from accounts.serializers import ContactIngestSerializer, CustomerIngestSerializer
from core import fields as api_fields
from core.api import validate_rows
from core.ingest import IngestError, RowError
from core.validation import EXTERNAL_ID_MESSAGE, EXTERNAL_ID_RE
from metrics.serializers import validate_usage_events

# Segment's limits (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size)
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
EVENT_TYPES = ("track", "page", "screen")
MAX_USER_ID = 200  # as a usage event's user_id
MAX_GROUP_ID = 100  # as a customer's external_id
# Validation needs a customer; the real one is resolved after the group calls of the batch are applied.
_UNRESOLVED = "-"


class GroupSerializer(CustomerIngestSerializer):
    """A `group` call's customer: the name may be omitted (a new customer is then named after its id)."""

    name = api_fields.CharField(max_length=200, multiline=False, required=False)


@dataclass
class Parsed:
    """A validated batch: rows in message order, each with the index of its message."""

    groups: list[dict[str, Any]] = field(default_factory=list)  # CustomerIngestSerializer rows
    links: dict[str, str] = field(default_factory=dict)  # user → groupId of its last group call
    # (index, user, groupId or None, row)
    contacts: list[tuple[int, str, str | None, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[int, str, str | None, dict[str, Any]]] = field(default_factory=list)
    ignored: int = 0
    messages: int = 0


def _text(value: Any) -> str | None:
    """Ids may be strings or numbers in the spec; anything else (or empty) is absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _timestamp(message: dict[str, Any], now: str) -> Any:
    return message.get("timestamp") or message.get("originalTimestamp") or now


def message_size(message: Any) -> int:
    return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())


def parse_messages(messages: list[Any], *, default_type: str | None = None) -> Parsed:
    """Validate `messages` and map them; IngestError naming every bad message (row = its index)."""
    now = timezone.now().isoformat()
    out = Parsed(messages=len(messages))
    errors: list[RowError] = []
    group_rows: list[tuple[int, dict[str, Any]]] = []
    contact_rows: list[tuple[int, str, str | None, dict[str, Any]]] = []
    event_rows: list[tuple[int, str, str | None, dict[str, Any]]] = []
    for i, message in enumerate(messages):
        if type(message) is not dict:
            errors.append(RowError(i, "non_field_errors", "Expected a JSON object."))
            continue
        if message_size(message) > MAX_MESSAGE_BYTES:
            errors.append(RowError(i, "non_field_errors", "A message must be at most 32 KB."))
            continue
        kind = message.get("type") or default_type
        if kind not in ("group", "identify", *EVENT_TYPES):
            out.ignored += 1
            continue
        user = _text(message.get("userId")) or _text(message.get("anonymousId"))
        if user is None:
            errors.append(RowError(i, "userId", "Either userId or anonymousId is required."))
            continue
        if len(user) > MAX_USER_ID:
            errors.append(
                RowError(i, "userId", f"Ensure this field has no more than {MAX_USER_ID} characters.")
            )
            continue
        message_id = _text(message.get("messageId")) or f"cshub-{uuid.uuid4()}"
        traits = message.get("traits")
        traits = traits if isinstance(traits, dict) else {}
        if kind == "group":
            group_id = _text(message.get("groupId"))
            if group_id is None:
                errors.append(RowError(i, "groupId", "This field is required."))
                continue
            row: dict[str, Any] = {"external_id": group_id}
            if traits.get("name") not in (None, ""):
                row["name"] = traits["name"]
            if traits.get("plan") not in (None, ""):
                row["segment"] = traits["plan"]
            seats = traits.get("licenses", traits.get("seats"))
            if seats is not None:
                row["licenses"] = seats
            group_rows.append((i, row))
            out.links[user[:200]] = group_id
            continue
        context = message.get("context")
        group = _text(context.get("groupId")) if isinstance(context, dict) else None
        if group is not None and (len(group) > MAX_GROUP_ID or not EXTERNAL_ID_RE.fullmatch(group)):
            errors.append(
                RowError(i, "context.groupId", f"{EXTERNAL_ID_MESSAGE} At most {MAX_GROUP_ID} characters.")
            )
            continue
        if kind == "identify":
            if isinstance(context, dict) and not traits and isinstance(context.get("traits"), dict):
                traits = context["traits"]
            if traits.get("email") in (None, ""):
                out.ignored += 1  # a contact needs an email; the call still links nothing
                continue
            name = traits.get("name")
            if name in (None, "") and (traits.get("firstName") or traits.get("lastName")):
                name = f"{traits.get('firstName') or ''} {traits.get('lastName') or ''}".strip()
            row = {"customer": _UNRESOLVED, "email": traits["email"], "name": name}
            if traits.get("title") not in (None, ""):
                row["title"] = traits["title"]
            contact_rows.append((i, user, group, row))
            continue
        properties = message.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        feature = message.get("event") if kind == "track" else message.get("name") or properties.get("name")
        if kind != "track" and feature in (None, ""):
            feature = kind
        if feature in (None, ""):
            errors.append(RowError(i, "event", "This field is required."))
            continue
        row = {
            "event_id": message_id,
            "customer": _UNRESOLVED,
            "user_id": user,
            "feature": feature,
            "occurred_at": _timestamp(message, now),
        }
        event_rows.append((i, user, group, row))

    # The ingestion validators, each over its own rows; their row numbers map back to message indexes.
    for rows, validate, target in (
        (group_rows, lambda items: validate_rows(GroupSerializer, items), "groups"),
        (contact_rows, lambda items: validate_rows(ContactIngestSerializer, items), "contacts"),
        (event_rows, validate_usage_events, "events"),
    ):
        if not rows:
            continue
        try:
            valid = validate([r[-1] for r in rows])
        except IngestError as exc:
            errors += [RowError(rows[e.row][0], _spec_name(e.field), e.message) for e in exc.errors]
            continue
        if target == "groups":
            out.groups = valid
        elif target == "contacts":
            out.contacts = [(*r[:3], v) for r, v in zip(rows, valid, strict=True)]
        else:
            out.events = [(*r[:3], v) for r, v in zip(rows, valid, strict=True)]
    if errors:
        raise IngestError(sorted(errors, key=lambda e: e.row))
    return out


# The spec's name of a field the ingestion validators name in cshub's words.
_SPEC_NAMES = {
    "external_id": "groupId",
    "name": "traits.name",
    "segment": "traits.plan",
    "licenses": "traits.licenses",
    "email": "traits.email",
    "title": "traits.title",
    "event_id": "messageId",
    "user_id": "userId",
    "feature": "event",
    "occurred_at": "timestamp",
}


def _spec_name(name: str) -> str:
    return _SPEC_NAMES.get(name, name)


def occurred_at_text(row: dict[str, Any]) -> str:
    value = row.get("occurred_at_text") or row["occurred_at"]
    return value if isinstance(value, str) else value.isoformat()


def pending_usage_row(row: dict[str, Any]) -> dict[str, Any]:
    """A validated usage row as kept in SegmentPending (JSON), less its customer."""
    return {
        "event_id": row["event_id"],
        "user_id": row["user_id"],
        "feature": row["feature"],
        "occurred_at": occurred_at_text(row),
        "quantity": row["quantity"],
    }


def usage_row_from_pending(row: dict[str, Any], customer: str) -> dict[str, Any]:
    occurred = dt.datetime.fromisoformat(row["occurred_at"])
    return {**row, "customer": customer, "occurred_at": occurred, "occurred_at_text": row["occurred_at"]}
