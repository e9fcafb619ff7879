"""Writes of the tracking API (docs/integrations.md#segment-spec-tracking-api): one batch, one transaction,
through the REST API's ingestion services (accounts.services.customers_upsert / contacts_upsert,
metrics.services.usage_events_ingest), so validation, idempotency and dirty marks are theirs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from accounts.dirty import kick
from accounts.models import Contact, Customer
from accounts.services import contacts_upsert
from core.api import INGEST_LOCK_TIMEOUT
from core.sql import chunked, set_local_lock_timeout
from metrics.services import usage_events_ingest

from ..connector_audit import audit_changes, customers_upsert_audited
from ..models import SegmentGroupLink, SegmentPending, SegmentPendingKind
from .batch_sql import batch_insert
from .mapping import Parsed, parse_messages, pending_usage_row, usage_row_from_pending

AUDIT_LABEL = "Segment"
CONTACT_FIELDS = ("email", "name", "title")


def segment_messages_ingest(*, messages: list[Any], default_type: str | None = None) -> dict[str, int]:
    """Validate and write Segment-spec messages; all or nothing. IngestError (400) for a bad message.

    Returns counts: customers and contacts written, usage events accepted / duplicates, calls kept pending
    (their customer is not known yet) and pending calls attached by this batch's group calls."""
    parsed = parse_messages(messages, default_type=default_type)
    with transaction.atomic():
        set_local_lock_timeout(INGEST_LOCK_TIMEOUT)
        return _write(parsed)


def segment_batch_ingest_sql(*, body: bytes) -> dict[str, int] | None:
    """A `/v1/batch` body written by one PostgreSQL statement (integrations.segment.batch_sql), with the
    counts of segment_messages_ingest plus `messages`; None when this path does not take the batch (not
    PostgreSQL, not UTF-8, not JSON PostgreSQL reads, or not only plain events): nothing was written, and the
    caller parses the body and calls segment_messages_ingest, whose answer (400s included) is the contract."""
    if connection.vendor != "postgresql":
        return None
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    try:
        with transaction.atomic():
            set_local_lock_timeout(INGEST_LOCK_TIMEOUT)
            counts = batch_insert(body=text, now=timezone.now(), tz=timezone.get_current_timezone_name())
            if counts and counts["accepted"]:
                transaction.on_commit(kick)  # the usage factors (docs/health.md#live-data)
    except DatabaseError as exc:
        # Rolled back. Input PostgreSQL does not take (class 22: not JSON it reads, a NUL, a date no calendar
        # has; 54: nested too deeply) goes to the Python path, which says what is wrong or takes it; a lock
        # timeout or a lost connection is the caller's to answer.
        if (getattr(exc.__cause__, "sqlstate", None) or "")[:2] not in ("22", "54"):
            raise
        return None
    return counts


def _write(parsed: Parsed) -> dict[str, int]:
    counts = {"customers": 0, "contacts": 0, "accepted": 0, "duplicates": 0, "pending": 0, "attached": 0}
    group_ids: list[str] = []
    if parsed.groups:
        group_ids = _groups_write(parsed.groups, counts)
    if parsed.links:
        now = timezone.now()
        SegmentGroupLink.objects.bulk_create(
            [
                SegmentGroupLink(user_id=u, group_id=g, updated_at=now)
                for u, g in sorted(parsed.links.items())
            ],
            update_conflicts=True,
            unique_fields=["user_id"],
            update_fields=["group_id", "updated_at"],
        )

    # The customer of each call: context.groupId, else the user's last group call (this batch's first).
    users = {u for _, u, g, _ in (*parsed.contacts, *parsed.events) if g is None and u not in parsed.links}
    linked = dict(parsed.links)
    for chunk in chunked(sorted(users)):
        linked.update(SegmentGroupLink.objects.filter(user_id__in=chunk).values_list("user_id", "group_id"))
    wanted = {g or linked.get(u) for _, u, g, _ in (*parsed.contacts, *parsed.events)} - {None}
    known: set[str] = set()
    for chunk in chunked(sorted(wanted)):
        known.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", flat=True))

    events, contacts, pending = [], [], []
    for _, user, group, row in parsed.events:
        customer = group or linked.get(user)
        if customer in known:
            row["customer"] = customer
            events.append(row)
        else:
            pending.append(_pending(SegmentPendingKind.USAGE, user, customer, pending_usage_row(row)))
    for _, user, group, row in parsed.contacts:
        customer = group or linked.get(user)
        if customer in known:
            contacts.append({**row, "customer": customer})
        else:
            data = {"message_id": f"identify:{user}:{row['email']}", **_contact_fields(row)}
            pending.append(_pending(SegmentPendingKind.CONTACT, user, customer, data))
    if events:
        result = usage_events_ingest(rows=events)
        counts["accepted"] += result["accepted"]
        counts["duplicates"] += result["duplicates"]
    if contacts:
        counts["contacts"] += _contacts_write(contacts)
    if pending:
        # A call kept twice (a client's retry) is kept once: message ids are unique.
        SegmentPending.objects.bulk_create(pending, ignore_conflicts=True, batch_size=1000)
        counts["pending"] = len(pending)
    if group_ids:
        _attach(group_ids, counts)
    return counts


def _pending(kind: str, user: str, group: str | None, row: dict[str, Any]) -> SegmentPending:
    message_id = row.pop("message_id", None) or row["event_id"]
    return SegmentPending(message_id=message_id[:200], kind=kind, user_id=user, group_id=group or "", row=row)


def _contact_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in CONTACT_FIELDS if k in row}


def _groups_write(rows: list[dict[str, Any]], counts: dict[str, int]) -> list[str]:
    """Upsert the batch's customers (a groupId called twice: the later traits win) and audit what changed."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        merged.setdefault(row["external_id"], {}).update(row)
    ids = sorted(merged)
    existing = set(Customer.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
    for external_id, row in merged.items():
        if external_id not in existing and "name" not in row:
            row["name"] = external_id  # a new customer needs a name; its next group call may give one
    result = customers_upsert_audited(rows=[merged[i] for i in ids], label=AUDIT_LABEL)
    counts["customers"] += result["created"] + result["updated"]
    return ids


def _contacts_write(rows: list[dict[str, Any]]) -> int:
    """Upsert contacts (the same person identified twice in a batch: the later traits win), audited."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        merged.setdefault((row["customer"], row["email"].lower()), {}).update(row)
    keys = sorted(merged)
    customers = dict(
        Customer.objects.filter(external_id__in={c for c, _ in keys}).values_list("external_id", "pk")
    )

    def existing() -> dict[tuple[str, str], Contact]:
        found = Contact.objects.filter(
            customer_id__in=customers.values(), email__in={e for _, e in keys}
        ).select_related("customer")
        return {
            (c.customer.external_id, c.email): c for c in found if (c.customer.external_id, c.email) in merged
        }

    before = existing()
    result = contacts_upsert(rows=[merged[k] for k in keys])
    if result["created"] or result["updated"]:
        audit_changes(
            before, existing(), CONTACT_FIELDS, label=AUDIT_LABEL, customer_of=lambda c: c.customer_id
        )
    return result["created"] + result["updated"]


EXPIRE_BATCH = 10_000


def segment_pending_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the kept calls older than CSHUB_SEGMENT_PENDING_DAYS (none when it is 0), oldest first, in
    batches of EXPIRE_BATCH rows (short transactions beside the ingest). Returns how many were deleted."""
    days = settings.CSHUB_SEGMENT_PENDING_DAYS
    if days <= 0:
        return 0
    horizon = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            SegmentPending.objects.filter(received_at__lt=horizon)
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)[:EXPIRE_BATCH]
        )
        if not ids:
            return deleted
        deleted += SegmentPending.objects.filter(pk__in=ids).delete()[0]


def segment_pending_summary() -> dict[str, object]:
    """How many calls wait for an unknown customer, the oldest one's arrival, and how long they are kept."""
    summary = SegmentPending.objects.aggregate(count=Count("pk"), oldest=Min("received_at"))
    return {**summary, "days": settings.CSHUB_SEGMENT_PENDING_DAYS}


def _attach(group_ids: Iterable[str], counts: dict[str, int]) -> None:
    """Write the kept calls whose customer these group calls made known, then forget them."""
    group_ids = sorted(group_ids)
    kept = list(SegmentPending.objects.filter(group_id__in=group_ids).order_by("id"))
    # Calls without a group whose user is now linked to one of these: a semi-join, not a list of every
    # user a big customer ever had.
    linked = SegmentGroupLink.objects.filter(group_id__in=group_ids).values("user_id")
    orphans = list(SegmentPending.objects.filter(group_id="", user_id__in=linked).order_by("id"))
    if not kept and not orphans:
        return
    by_user = dict(
        SegmentGroupLink.objects.filter(user_id__in={o.user_id for o in orphans}).values_list(
            "user_id", "group_id"
        )
    )
    kept += orphans
    events, contacts = [], []
    for item in kept:
        customer = item.group_id or by_user[item.user_id]
        if item.kind == SegmentPendingKind.USAGE:
            events.append(usage_row_from_pending(item.row, customer))
        else:
            contacts.append({**item.row, "customer": customer})
    if events:
        result = usage_events_ingest(rows=events)
        counts["accepted"] += result["accepted"]
        counts["duplicates"] += result["duplicates"]
    if contacts:
        counts["contacts"] += _contacts_write(contacts)
    for chunk in chunked([item.pk for item in kept]):
        SegmentPending.objects.filter(pk__in=chunk).delete()
    counts["attached"] = len(kept)
