"""Writes for people and customers. Keyword-only, typed, each owns its transaction (docs/style.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.module_loading import import_string

from core import events
from core.ingest import IngestError, RowError, bulk_upsert, check_duplicate_keys
from core.sql import chunked

from . import audit
from .dirty import customers_mark_dirty
from .models import (
    NOTE_TEXT_MAX_LENGTH,
    ApiToken,
    Contact,
    Customer,
    LifecycleStage,
    Note,
    Pulse,
    Role,
    Team,
    Touchpoint,
    TouchpointKind,
    User,
)
from .visibility import can_edit_customer, can_edit_log, can_manage_tokens_of

# A touchpoint may be logged slightly ahead (time zones, a call about to start), never further.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def validate_not_in_future(value: dt.datetime) -> None:
    """Shared rule for forms, serializers and services: at most one day ahead of now."""
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError("This date is in the future; log what already happened (at most 1 day ahead).")


def _require_edit(user: User, customer: Customer) -> None:
    if not can_edit_customer(user, customer):
        raise PermissionDenied("You can only log activity on customers in your book.")


@transaction.atomic
def touchpoint_log(
    *,
    user: User,
    customer: Customer,
    kind: str,
    occurred_at: dt.datetime,
    summary: str,
    sentiment: str = "",
    contacts: Iterable[Contact] = (),
) -> Touchpoint:
    """Record a touchpoint on a customer the user may edit."""
    _require_edit(user, customer)
    validate_not_in_future(occurred_at)
    contacts = list(contacts)
    if any(c.customer_id != customer.pk for c in contacts):
        raise ValidationError({"contacts": "Contacts must belong to this customer."})
    touchpoint = Touchpoint.objects.create(
        customer=customer,
        author=user,
        kind=kind,
        occurred_at=occurred_at,
        summary=summary,
        sentiment=sentiment,
    )
    if contacts:
        touchpoint.contacts.set(contacts)
    customers_mark_dirty(customer_ids=[customer.pk])  # engagement (docs/health.md#live-data)
    for path in settings.CSHUB_AFTER_TOUCHPOINT_LOGGED:  # tasks waiting for this touchpoint complete now
        import_string(path)(touchpoint=touchpoint)
    return touchpoint


@transaction.atomic
def pulse_log(*, user: User, customer: Customer, score: int, note: str = "") -> Pulse:
    """Record the CSM's 1-5 read of the relationship."""
    _require_edit(user, customer)
    if not 1 <= int(score) <= 5:
        raise ValidationError({"score": "Pulse score must be between 1 and 5."})
    pulse = Pulse.objects.create(customer=customer, author=user, score=score, note=note)
    customers_mark_dirty(customer_ids=[customer.pk])  # CSM pulse (docs/health.md#live-data)
    return pulse


@transaction.atomic
def note_log(*, user: User, customer: Customer, text: str) -> Note:
    """Write a note on a customer the user may log on; `note.created` tells the @mention notifications."""
    _require_edit(user, customer)
    text = _note_text(text)
    note = Note.objects.create(customer=customer, author=user, text=text)
    events.publish("note.created", note_id=note.pk, customer_id=customer.pk, author_id=user.pk, text=text)
    return note


def _note_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    if len(text) > NOTE_TEXT_MAX_LENGTH:
        raise ValidationError({"text": f"Keep notes under {NOTE_TEXT_MAX_LENGTH:,} characters."})
    return text


# --- Editing and deleting logs (docs/workspace.md#editing-logs): the author, their manager, admins; the old
# text goes to the audit log in the same transaction. -------------------------------------------------------

TOUCHPOINT_EDIT_FIELDS = ("kind", "occurred_at", "sentiment", "summary")
PULSE_EDIT_FIELDS = ("score", "note")
NOTE_EDIT_FIELDS = ("text",)
# What a deletion keeps under "before": the edited fields plus who wrote it and when.
TOUCHPOINT_AUDIT_FIELDS = (*TOUCHPOINT_EDIT_FIELDS, "author")
PULSE_AUDIT_FIELDS = (*PULSE_EDIT_FIELDS, "created_at", "author")
NOTE_AUDIT_FIELDS = (*NOTE_EDIT_FIELDS, "created_at", "author")


def _locked_for_edit(user: User, model: type, pk: int) -> Any:
    """The row, locked against a concurrent edit, if `user` may edit it (PermissionDenied otherwise)."""
    obj = model.objects.select_for_update().select_related("customer").get(pk=pk)
    if not can_edit_log(user, obj):
        raise PermissionDenied(f"You can only change your own {model._meta.verbose_name_plural}.")
    return obj


def _unknown_fields(data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})


@transaction.atomic
def touchpoint_update(*, user: User, touchpoint: Touchpoint, data: Mapping[str, Any]) -> Touchpoint:
    """Change a touchpoint's kind, time, sentiment or summary; the previous values go to the audit log."""
    _unknown_fields(data, TOUCHPOINT_EDIT_FIELDS)
    touchpoint = _locked_for_edit(user, Touchpoint, touchpoint.pk)
    if "occurred_at" in data:
        validate_not_in_future(data["occurred_at"])
    if "kind" in data and data["kind"] not in TouchpointKind.values:
        raise ValidationError({"kind": "Choose a touchpoint type."})
    if "summary" in data and not (data["summary"] or "").strip():
        raise ValidationError({"summary": "Write a short summary of what happened."})
    before = audit.snapshot(touchpoint, TOUCHPOINT_EDIT_FIELDS)
    for name, value in data.items():
        setattr(touchpoint, name, value)
    touchpoint.save(update_fields=list(data) or None)
    entry = audit.record_update(
        actor=user,
        obj=touchpoint,
        before=before,
        fields=TOUCHPOINT_EDIT_FIELDS,
        customer=touchpoint.customer_id,
    )
    if entry is not None:
        customers_mark_dirty(customer_ids=[touchpoint.customer_id])  # engagement may move
    return touchpoint


@transaction.atomic
def touchpoint_delete(*, user: User, touchpoint: Touchpoint) -> None:
    """Delete a touchpoint; the whole old row stays in the audit log."""
    touchpoint = _locked_for_edit(user, Touchpoint, touchpoint.pk)
    audit.record_delete(
        actor=user, obj=touchpoint, fields=TOUCHPOINT_AUDIT_FIELDS, customer=touchpoint.customer_id
    )
    customer_id = touchpoint.customer_id
    touchpoint.delete()
    customers_mark_dirty(customer_ids=[customer_id])


@transaction.atomic
def pulse_update(*, user: User, pulse: Pulse, data: Mapping[str, Any]) -> Pulse:
    """Change a pulse's score or note; the previous values go to the audit log."""
    _unknown_fields(data, PULSE_EDIT_FIELDS)
    pulse = _locked_for_edit(user, Pulse, pulse.pk)
    if "score" in data and not 1 <= int(data["score"]) <= 5:
        raise ValidationError({"score": "Pulse score must be between 1 and 5."})
    before = audit.snapshot(pulse, PULSE_EDIT_FIELDS)
    for name, value in data.items():
        setattr(pulse, name, value)
    pulse.save(update_fields=list(data) or None)
    entry = audit.record_update(
        actor=user, obj=pulse, before=before, fields=PULSE_EDIT_FIELDS, customer=pulse.customer_id
    )
    if entry is not None:
        customers_mark_dirty(customer_ids=[pulse.customer_id])  # the CSM pulse factor
    return pulse


@transaction.atomic
def pulse_delete(*, user: User, pulse: Pulse) -> None:
    """Delete a pulse; the whole old row stays in the audit log."""
    pulse = _locked_for_edit(user, Pulse, pulse.pk)
    audit.record_delete(actor=user, obj=pulse, fields=PULSE_AUDIT_FIELDS, customer=pulse.customer_id)
    customer_id = pulse.customer_id
    pulse.delete()
    customers_mark_dirty(customer_ids=[customer_id])


@transaction.atomic
def note_update(*, user: User, note: Note, text: str) -> Note:
    """Rewrite a note; the previous text goes to the audit log."""
    note = _locked_for_edit(user, Note, note.pk)
    text = _note_text(text)
    before = audit.snapshot(note, NOTE_EDIT_FIELDS)
    note.text = text
    note.save(update_fields=["text", "updated_at"])
    audit.record_update(
        actor=user, obj=note, before=before, fields=NOTE_EDIT_FIELDS, customer=note.customer_id
    )
    return note


@transaction.atomic
def note_delete(*, user: User, note: Note) -> None:
    """Delete a note; its text stays in the audit log."""
    note = _locked_for_edit(user, Note, note.pk)
    audit.record_delete(actor=user, obj=note, fields=NOTE_AUDIT_FIELDS, customer=note.customer_id)
    note.delete()


@transaction.atomic
def user_create(
    *, email: str, role: str, password: str | None = None, full_name: str = "", team: str | None = None
) -> User:
    """Create (or update the role/password/team of) a user; used by `create_user` and the demo seed."""
    if role not in Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Role.values)}."})
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, role=role, full_name=full_name)
    else:
        user.role = role
        if full_name:
            user.full_name = full_name
        if password:
            user.set_password(password)
    user.is_staff = role == Role.ADMIN or user.is_superuser
    user.save()
    if team:
        team_obj, _ = Team.objects.get_or_create(name=team)
        if role == Role.MANAGER:
            team_obj.manager = user
            team_obj.save(update_fields=["manager"])
        else:
            team_obj.members.add(user)
    return user


# --- Ingestion (docs/api.md): validated rows in, {"created", "updated", "unchanged"} out -----------------


@transaction.atomic
def customers_upsert(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Create or update customers on `external_id` from CustomerIngestSerializer rows; all or nothing.

    A row updates only the fields it contains. `csm_email` must name an active user ("" or None unassigns).
    Row errors are numbered from `first_row` (0 for the API's list index; a CSV import passes its first line).
    """
    errors = check_duplicate_keys(
        rows, lambda r: r["external_id"], field_name="external_id", first_row=first_row
    )
    emails = sorted({r["csm_email"].lower() for r in rows if r.get("csm_email")})
    user_ids: dict[str, int] = {}
    for chunk in chunked(emails):
        users = User.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=chunk, is_active=True
        )
        user_ids.update(users.values_list("email_lower", "pk"))

    values: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        row = dict(row)
        if "csm_email" in row:
            email = (row.pop("csm_email") or "").lower()
            row["csm_id"] = user_ids.get(email) if email else None
            if email and row["csm_id"] is None:
                errors.append(
                    RowError(i + first_row, "csm_email", f"No active cshub user has the email {email}.")
                )
        values.append(row)
    if errors:
        raise IngestError(sorted(errors, key=lambda e: e.row))
    # Customers set to `churned` by hand that were not: customer.churned once each
    # (docs/architecture.md#events).
    to_churn = sorted(
        {r["external_id"] for r in values if r.get("lifecycle_stage") == LifecycleStage.CHURNED}
    )
    was_live: list[str] = []
    if to_churn and events.has_subscribers("customer.churned"):
        for chunk in chunked(to_churn):
            was_live += (
                Customer.objects.filter(external_id__in=chunk)
                .exclude(lifecycle_stage=LifecycleStage.CHURNED)
                .values_list("external_id", flat=True)
            )
    # A customer changing CSM is locked FOR UPDATE in id order before the write (see bulk_upsert).
    result = bulk_upsert(model=Customer, rows=values, key_fields=["external_id"], lock_on_change="csm_id")
    if was_live:
        today = timezone.localdate().isoformat()
        churned_ids = {c.external_id: c.pk for c in result.objects if c.external_id in set(was_live)}
        events.publish_many(
            "customer.churned", [{"customer_id": churned_ids[e], "day": today} for e in sorted(churned_ids)]
        )
    if result.created or result.updated:
        # Licenses, contract start, stage and segment are factor inputs (docs/health.md#live-data); the
        # batch is marked whole, as the upsert does not say which of its rows changed.
        customers_mark_dirty(customer_ids=[c.pk for c in result.objects])
    return result.as_dict()


@transaction.atomic
def contacts_upsert(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Create or update contacts on (customer external_id, email) from ContactIngestSerializer rows."""
    errors = check_duplicate_keys(
        rows, lambda r: (r["customer"], r["email"].lower()), field_name="email", first_row=first_row
    )
    external_ids = sorted({r["customer"] for r in rows})
    customer_ids: dict[str, int] = {}
    for chunk in chunked(external_ids):
        customer_ids.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))

    values: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        row = dict(row)
        customer_id = customer_ids.get(row.pop("customer"))
        if customer_id is None:
            errors.append(RowError(i + first_row, "customer", "No customer has this external_id."))
            continue
        row["customer_id"] = customer_id
        row["email"] = row["email"].lower()
        values.append(row)
    if errors:
        raise IngestError(sorted(errors, key=lambda e: e.row))

    def lookup(chunk: Sequence[dict[str, Any]]) -> Any:
        return Contact.objects.filter(
            customer_id__in={r["customer_id"] for r in chunk}, email__in={r["email"] for r in chunk}
        )

    return bulk_upsert(
        model=Contact, rows=values, key_fields=["customer_id", "email"], lookup=lookup
    ).as_dict()


# --- API tokens (docs/api.md#authentication; creation and lookup in accounts.tokens) ---


def api_token_revoke(*, user: User, token: ApiToken) -> None:
    """Revoke a token now: its owner, or an admin."""
    if not can_manage_tokens_of(user, token.user):
        raise PermissionDenied("You can only revoke your own tokens.")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
