"""Services of editing in the app (docs/workspace.md#editing-in-the-app): a customer's fields, its contacts,
and the same fields in bulk from the Book. Keyword-only, typed, each owns its transaction; every change
writes the audit log (accounts.audit) in that transaction.

Who may: managers their teams' customers, admins all, CSMs none
(accounts.visibility.field_editable_customers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core import events
from core.sql import chunked

from . import audit
from .dirty import customers_mark_dirty
from .models import AuditAction, AuditEntry, Contact, Customer, LifecycleStage, User
from .visibility import assignable_csms, can_edit_customer_fields, field_editable_customers

# What a manager or admin edits in the app; the rest (name, external id, contract dates) comes from the
# systems that own it, through the API or an import.
CUSTOMER_EDIT_FIELDS = ("csm", "renewal_date", "lifecycle_stage", "licenses", "segment")
# Factor inputs among them (docs/health.md#live-data): a change marks the customer dirty.
HEALTH_INPUT_FIELDS = frozenset({"licenses", "lifecycle_stage", "segment"})
CONTACT_FIELDS = ("email", "name", "title")
BULK_CHUNK = 5000  # ids per statement: far below PostgreSQL's 65,535 parameters and SQLite's 32,766
DENIED = "Only managers (for their teams' customers) and admins can edit customer fields."


def _check_values(*, user: User, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a change set: known fields only, a CSM `user` may assign; returns it with `csm` as an id."""
    unknown = set(changes) - set(CUSTOMER_EDIT_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be edited here." for name in sorted(unknown)})
    values = dict(changes)
    if "csm" in values:
        csm = values["csm"]
        csm_id = csm.pk if isinstance(csm, User) else csm
        if csm_id is not None and not assignable_csms(user).filter(pk=csm_id).exists():
            raise ValidationError({"csm": "You can only assign an active member of your teams."})
        values["csm"] = csm_id
    if "lifecycle_stage" in values and values["lifecycle_stage"] not in LifecycleStage.values:
        raise ValidationError({"lifecycle_stage": "Choose a lifecycle stage from the list."})
    if "licenses" in values and (values["licenses"] is None or int(values["licenses"]) < 0):
        raise ValidationError({"licenses": "Licenses must be a whole number, 0 or more."})
    if "segment" in values:
        values["segment"] = (values["segment"] or "").strip()
    return values


def _attname(name: str) -> str:
    return "csm_id" if name == "csm" else name


def _churned_today(customer_ids: Sequence[int]) -> None:
    today = timezone.localdate()
    for pk in customer_ids:
        events.publish("customer.churned", customer_id=pk, day=today)


@transaction.atomic
def customer_update(*, user: User, customer: Customer, changes: Mapping[str, Any]) -> AuditEntry | None:
    """Change some of a customer's CSM, renewal date, stage, licenses and segment; one audit entry (or
    none, when nothing changed)."""
    if not can_edit_customer_fields(user, customer):
        raise PermissionDenied(DENIED)
    values = _check_values(user=user, changes=changes)
    # Locked first: a CSM change rewrites the customer's facts (accounts.models.book_csm_field).
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    before = audit.snapshot(locked, CUSTOMER_EDIT_FIELDS)
    for name, value in values.items():
        setattr(locked, _attname(name), value)
    locked.full_clean(exclude=[f.name for f in Customer._meta.fields if f.name not in CUSTOMER_EDIT_FIELDS])
    changed = [n for n in CUSTOMER_EDIT_FIELDS if audit.snapshot(locked, [n])[n] != before[n]]
    if not changed:
        return None
    locked.save(update_fields=[*changed, "updated_at"])
    if HEALTH_INPUT_FIELDS.intersection(changed):
        customers_mark_dirty(customer_ids=[locked.pk])
    if "lifecycle_stage" in changed and locked.lifecycle_stage == LifecycleStage.CHURNED:
        _churned_today([locked.pk])
    for name in CUSTOMER_EDIT_FIELDS:  # the caller's object reads as saved
        setattr(customer, _attname(name), getattr(locked, _attname(name)))
    return audit.record_update(
        actor=user, obj=locked, before=before, fields=CUSTOMER_EDIT_FIELDS, customer=locked
    )


@transaction.atomic
def customers_bulk_update(*, user: User, customer_ids: Sequence[int], changes: Mapping[str, Any]) -> int:
    """The same change on many customers (the Book's bulk edit): all or nothing; one audit entry per customer
    that changed (audit.record_many). Returns how many changed."""
    if not changes:
        raise ValidationError("Choose at least one field to change.")
    values = _check_values(user=user, changes=changes)
    ids = sorted(set(customer_ids))
    if not ids:
        raise ValidationError("No customers are selected.")
    attnames = {_attname(n): v for n, v in values.items()}
    # Locked in id order (as the ingestion upsert does) and read with their values before the change, in
    # chunks (a statement's parameters are bounded); only those the user may edit come back.
    rows: list[dict[str, Any]] = []
    for chunk in chunked(ids, BULK_CHUNK):
        rows.extend(
            field_editable_customers(user, Customer.objects.filter(pk__in=list(chunk)))
            .select_for_update(of=("self",))
            .order_by("pk")
            .values("pk", "name", *[_attname(n) for n in CUSTOMER_EDIT_FIELDS])
        )
    if len(rows) != len(ids):
        raise PermissionDenied(DENIED)
    now = timezone.now()
    entries: list[AuditEntry] = []
    changed_ids: list[int] = []
    dirty_ids: list[int] = []
    labels = _user_labels(user, rows, values)
    for row in rows:
        changes_of_row: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            old = audit.json_value(row[_attname(name)])
            new = audit.json_value(value)
            if old != new:
                change: dict[str, Any] = {"before": old, "after": new}
                if name == "csm":
                    change["before_label"] = labels.get(old, "") if old else ""
                    change["after_label"] = labels.get(new, "") if new else ""
                changes_of_row[name] = change
        if not changes_of_row:
            continue
        changed_ids.append(row["pk"])
        if HEALTH_INPUT_FIELDS.intersection(changes_of_row):
            dirty_ids.append(row["pk"])
        entries.append(
            AuditEntry(
                at=now,
                actor=user,
                actor_label=audit.actor_label_of(user),
                action=AuditAction.UPDATE,
                object_type="customer",
                object_id=str(row["pk"]),
                object_repr=row["name"][: audit.REPR_MAX],
                customer_id=row["pk"],
                changes=changes_of_row,
            )
        )
    if not changed_ids:
        return 0
    for chunk in chunked(changed_ids, BULK_CHUNK):
        Customer.objects.filter(pk__in=list(chunk)).update(**attnames, updated_at=now)
    audit.record_many(entries)
    if dirty_ids:
        customers_mark_dirty(customer_ids=dirty_ids)
    if values.get("lifecycle_stage") == LifecycleStage.CHURNED:
        _churned_today(changed_ids)
    return len(changed_ids)


def _user_labels(user: User, rows: list[dict[str, Any]], values: Mapping[str, Any]) -> dict[int, str]:
    if "csm" not in values:
        return {}
    ids = {r["csm_id"] for r in rows if r["csm_id"]} | ({values["csm"]} if values["csm"] else set())
    return {u.pk: u.full_name or u.email for u in User.objects.filter(pk__in=ids).only("full_name", "email")}


@transaction.atomic
def contact_save(
    *,
    user: User,
    customer: Customer,
    email: str,
    name: str = "",
    title: str = "",
    contact: Contact | None = None,
) -> Contact:
    """Add a contact to a customer, or edit one of its contacts; audited."""
    if not can_edit_customer_fields(user, customer):
        raise PermissionDenied("Only managers (for their teams' customers) and admins can edit contacts.")
    if contact is not None and contact.customer_id != customer.pk:
        raise PermissionDenied("This contact belongs to another customer.")
    email = User.objects.normalize_email(email).strip().lower()
    taken = Contact.objects.filter(customer=customer, email__iexact=email)
    if contact is not None:
        taken = taken.exclude(pk=contact.pk)
    if taken.exists():
        raise ValidationError({"email": "This customer already has a contact with this email."})
    if contact is None:
        contact = Contact.objects.create(
            customer=customer, email=email, name=name.strip(), title=title.strip()
        )
        audit.record_create(actor=user, obj=contact, fields=CONTACT_FIELDS, customer=customer)
        return contact
    before = audit.snapshot(contact, CONTACT_FIELDS)
    contact.email, contact.name, contact.title = email, name.strip(), title.strip()
    contact.save(update_fields=list(CONTACT_FIELDS))
    audit.record_update(actor=user, obj=contact, before=before, customer=customer)
    return contact
