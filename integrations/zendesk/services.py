"""Zendesk tickets into cshub's tickets (docs/integrations.md#zendesk).

Both ways in end in `zendesk_tickets_ingest`, over Zendesk's own ticket JSON with its metric set and
organization side-loaded, and write through metrics.services.tickets_upsert (the API's validation and
idempotency):

- the webhook (`/integrations/zendesk/webhook/`) checks Zendesk's signature, reads the ticket ids it names and
  queues their fetch (show_many) through the outbox: the webhook's own body carries no metric set, and the
  organization only as a Zendesk id, so fetching is what makes webhook and backfill give the same tickets;
- `manage.py sync_zendesk [--since D]` reads the cursor-based incremental export.

Mapping: `external_id` = "zendesk:<ticket id>"; customer = the ticket organization's `external_id` (a ticket
without one, or naming no cshub customer, is skipped and listed as an error on the Integrations page);
`opened_at` = created_at; status solved or closed → `resolved_at` = the metric set's solved_at (else the
ticket's updated_at), any other status → not resolved (a reopened ticket is open again); priority as is
(none → normal); category = the ticket type; **first-contact resolution** = solved or closed with at most one
agent reply (the metric set's `replies` ≤ 1: Zendesk's "one-touch" resolution), unknown otherwise.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Customer
from core.sql import chunked
from metrics.serializers import TicketIngestSerializer
from metrics.services import tickets_upsert

from .. import activity
from ..enqueue import zendesk_tickets_fetch_on_commit
from . import client

CONNECTOR = "zendesk"
SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
# A signed request older (or newer) than this is refused: a captured request cannot be replayed later.
MAX_SKEW = dt.timedelta(minutes=5)
RESOLVED_STATUSES = ("solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")


class BadSignature(Exception):
    pass


def signature_check(*, body: bytes, signature: str, timestamp: str, now: dt.datetime | None = None) -> None:
    """Zendesk's webhook signature: base64(HMAC-SHA256(signing secret, timestamp + body)), and a timestamp
    within MAX_SKEW of now. Raises BadSignature saying what is wrong."""
    secret = settings.ZENDESK_WEBHOOK_SECRET
    if not secret:
        raise BadSignature("No Zendesk signing secret is configured (ZENDESK_WEBHOOK_SECRET).")
    if not signature or not timestamp:
        raise BadSignature(f"Missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}.")
    expected = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        raise BadSignature("The signature does not match.")
    sent = parse_datetime(timestamp.strip())
    if sent is None or sent.tzinfo is None:
        raise BadSignature("The signature timestamp is not an ISO 8601 time with a zone.")
    if abs((now or timezone.now()) - sent) > MAX_SKEW:
        raise BadSignature("The signature timestamp is more than 5 minutes away from now (a replay?).")


def ticket_ids_of(body: Any) -> list[int]:
    """The ticket ids a webhook body names: Zendesk's ticket events (`{"type": "zen:event-type:ticket…",
    "detail": {"id": …}}`) or a trigger's JSON body (`{"ticket_id": "{{ticket.id}}"}` or
    `{"ticket": {"id": …}}`), one object or a list. Raises ValueError when it names none."""
    items = body if isinstance(body, list) else [body]
    ids = []
    for item in items[:100]:
        if not isinstance(item, dict):
            raise ValueError("Each item must be a JSON object.")
        detail = item.get("detail") if isinstance(item.get("detail"), dict) else {}
        ticket = item.get("ticket") if isinstance(item.get("ticket"), dict) else {}
        raw = item.get("ticket_id", ticket.get("id", detail.get("id")))
        try:
            value = int(str(raw))
        except (TypeError, ValueError):
            raise ValueError("Name the ticket: ticket_id, ticket.id or detail.id (a number).") from None
        if value <= 0:
            raise ValueError("A ticket id is a positive number.")
        ids.append(value)
    if not ids:
        raise ValueError("Name at least one ticket.")
    return sorted(set(ids))


def zendesk_webhook_receive(*, body: bytes, signature: str, timestamp: str) -> list[int]:
    """A verified webhook call: queue the fetch of the tickets it names (after commit, through the outbox);
    returns their ids. Raises BadSignature or ValueError (a 401 / a 400)."""
    signature_check(body=body, signature=signature, timestamp=timestamp)
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValueError("The body is not JSON.") from None
    ids = ticket_ids_of(payload)
    with transaction.atomic():
        activity.record_received(CONNECTOR, kind="webhook", items=len(ids))
        zendesk_tickets_fetch_on_commit(ticket_ids=ids)
    return ids


def ticket_row(
    ticket: dict[str, Any], *, metric_set: dict[str, Any] | None, organization: dict[str, Any] | None
) -> dict[str, Any]:
    """The /api/v1/tickets/ row of a Zendesk ticket (module docstring), before validation."""
    status = ticket.get("status")
    resolved = status in RESOLVED_STATUSES
    resolved_at = None
    fcr = None
    if resolved:
        resolved_at = (metric_set or {}).get("solved_at") or ticket.get("updated_at")
        replies = (metric_set or {}).get("replies")
        fcr = None if replies is None else int(replies) <= 1
    priority = ticket.get("priority") if ticket.get("priority") in PRIORITIES else "normal"
    return {
        "external_id": f"zendesk:{ticket.get('id')}",
        "customer": (organization or {}).get("external_id") or "",
        "opened_at": ticket.get("created_at"),
        "resolved_at": resolved_at,
        "priority": priority,
        "first_contact_resolution": fcr,
        "category": ticket.get("type") or "",
    }


@transaction.atomic
def zendesk_tickets_ingest(
    *,
    tickets: Sequence[dict[str, Any]],
    metric_sets: Iterable[dict[str, Any]] = (),
    organizations: Iterable[dict[str, Any]] = (),
) -> dict[str, int]:
    """Write Zendesk tickets as cshub tickets; the ones that cannot be (no organization external id, unknown
    customer, invalid) are skipped and recorded as errors with their ticket. Idempotent on the ticket id.
    Returns {"created", "updated", "unchanged", "skipped"}."""
    metrics_by_ticket = {m.get("ticket_id"): m for m in metric_sets}
    orgs = {o.get("id"): o for o in organizations}
    candidates = []
    skipped = 0
    for ticket in tickets:
        if ticket.get("status") == "deleted":
            continue
        row = ticket_row(
            ticket,
            metric_set=metrics_by_ticket.get(ticket.get("id")),
            organization=orgs.get(ticket.get("organization_id")),
        )
        serializer = TicketIngestSerializer(data=row)
        if not row["customer"]:
            error = (
                "The ticket's organization has no external_id (set it to the cshub customer's external id)."
            )
        elif not serializer.is_valid():
            error = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in serializer.errors.items())
        else:
            candidates.append((ticket, serializer.validated_data))
            continue
        skipped += 1
        activity.record_error(CONNECTOR, error, kind="ticket", payload=ticket)
    known: set[str] = set()
    for chunk in chunked(sorted({row["customer"] for _, row in candidates})):
        known.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", flat=True))
    by_id: dict[str, dict[str, Any]] = {}  # a ticket listed twice: its last state
    for ticket, row in candidates:
        if row["customer"] in known:
            by_id[row["external_id"]] = row
        else:
            skipped += 1
            activity.record_error(
                CONNECTOR,
                f"No cshub customer has the external_id {row['customer']}.",
                kind="ticket",
                payload=ticket,
            )
    rows = list(by_id.values())
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    if rows:
        counts = tickets_upsert(rows=rows)
        activity.record_received(CONNECTOR, kind="tickets", items=len(rows))
    return {**counts, "skipped": skipped}


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


def zendesk_tickets_fetch(*, ticket_ids: Sequence[int]) -> dict[str, int]:
    """The webhook's second half (a task): fetch the named tickets and ingest them."""
    total: dict[str, int] = {}
    try:
        for page in client.tickets_by_id(list(ticket_ids)):
            _add(total, zendesk_tickets_ingest(**page.__dict__))
    except client.ZendeskError as exc:
        activity.record_error(CONNECTOR, str(exc), kind="fetch", payload={"ticket_ids": list(ticket_ids)})
        raise
    return total


def zendesk_sync(*, since: dt.date | None = None) -> dict[str, int]:
    """Backfill (`manage.py sync_zendesk`): every ticket changed since `since` (default: all), page by page,
    each page in its own transaction. Safe to re-run: tickets are upserted on their Zendesk id."""
    start = dt.datetime.combine(
        since or dt.date(1970, 1, 2), dt.time(), tzinfo=timezone.get_current_timezone()
    )
    total: dict[str, int] = {"pages": 0}
    for page in client.incremental_tickets(since=start):
        _add(total, zendesk_tickets_ingest(**page.__dict__))
        total["pages"] += 1
    return total
