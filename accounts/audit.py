"""The audit log: every change to customers, contacts, users, teams, models, playbooks and logs
(docs/workspace.md#audit-log).

Services call these in the transaction of the change they make, so an entry exists exactly when the change
does. The usual shape is

    before = audit.snapshot(customer, CUSTOMER_FIELDS)
    ... change and save customer ...
    audit.record_update(actor=user, obj=customer, before=before, fields=CUSTOMER_FIELDS, customer=customer)

`record_update` writes nothing when no listed field changed. Values are stored JSON-safe: dates as ISO text,
decimals as text, a foreign key as its id and, where it is a person or a customer, its name under
`<field>_label` so the log still reads after the row is gone.

Why a service-level model and not database triggers (django-pghistory and the like): the embedded default is
SQLite, which those libraries don't serve, and the log must say *who* acted, which only the service knows.
Bulk paths that write through raw SQL call `record_many` with the rows they changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .models import AuditAction, AuditEntry, Customer, User

REPR_MAX = 200


def json_value(value: Any) -> Any:
    """A value as the log stores it: JSON-safe and readable."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The listed fields of `obj` as the log stores them; a foreign key by its id (`csm` → its id)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.is_relation and field.many_to_one:
            out[name] = getattr(obj, field.attname)
        else:
            out[name] = json_value(getattr(obj, name))
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": b, "after": a}} for each field whose value differs."""
    changes: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys([*before, *after]):
        b, a = json_value(before.get(name)), json_value(after.get(name))
        if b != a:
            changes[name] = {"before": b, "after": a}
    return changes


def object_type_of(obj: models.Model) -> str:
    return obj._meta.model_name or type(obj).__name__.lower()


def actor_label_of(actor: User | None, label: str = "") -> str:
    if label:
        return label[:200]
    if actor is None:
        return "system"
    return (actor.full_name or actor.email)[:200]


def _labels(changes: dict[str, dict[str, Any]], obj: models.Model | None) -> None:
    """Name the people behind a changed foreign key to a user (a CSM, an assignee, a team's manager)."""
    if obj is None:
        return
    user_fields = [
        name
        for name in changes
        if (f := _field_or_none(obj, name)) is not None and f.is_relation and f.related_model is User
    ]
    ids = {
        v for name in user_fields for v in (changes[name]["before"], changes[name]["after"]) if v is not None
    }
    if not ids:
        return
    names = {u.pk: u.full_name or u.email for u in User.objects.filter(pk__in=ids).only("full_name", "email")}
    for name in user_fields:
        changes[name]["before_label"] = (
            names.get(changes[name]["before"], "") if changes[name]["before"] else ""
        )
        changes[name]["after_label"] = names.get(changes[name]["after"], "") if changes[name]["after"] else ""


def _field_or_none(obj: models.Model, name: str) -> models.Field | None:
    try:
        return obj._meta.get_field(name)  # type: ignore[return-value]
    except FieldDoesNotExist:
        return None


def record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    customer: Customer | int | None = None,
    changes: Mapping[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Write one entry: `obj` gives type, id and text unless passed; `customer` ties it to a customer."""
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label_of(actor, actor_label),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:REPR_MAX],
        customer_id=customer_id,
        changes=dict(changes or {}),
    )


def record_create(
    *,
    actor: User | None,
    obj: models.Model,
    fields: Sequence[str],
    customer: Customer | int | None = None,
    actor_label: str = "",
) -> AuditEntry:
    changes = diff({}, snapshot(obj, fields))
    _labels(changes, obj)
    return record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=obj,
        customer=customer,
        changes=changes,
        actor_label=actor_label,
    )


def record_update(
    *,
    actor: User | None,
    obj: models.Model,
    before: Mapping[str, Any],
    fields: Sequence[str] | None = None,
    customer: Customer | int | None = None,
    actor_label: str = "",
) -> AuditEntry | None:
    """Write an entry for the fields that changed since `before` (a `snapshot`); nothing when none did."""
    changes = diff(before, snapshot(obj, fields or list(before)))
    if not changes:
        return None
    _labels(changes, obj)
    return record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=obj,
        customer=customer,
        changes=changes,
        actor_label=actor_label,
    )


def record_delete(
    *,
    actor: User | None,
    obj: models.Model,
    fields: Sequence[str],
    customer: Customer | int | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Keep the whole old row under "before" (call before the delete, while `obj.pk` is still set)."""
    changes = diff(snapshot(obj, fields), {})
    _labels(changes, obj)  # a deleted row's author or CSM by name, as create and update do
    return record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=obj,
        customer=customer,
        changes=changes,
        actor_label=actor_label,
    )


def record_many(entries: Iterable[AuditEntry]) -> int:
    """Bulk paths (imports, bulk edits): entries built by the caller, written in one statement per 1,000."""
    rows = list(entries)
    AuditEntry.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def entries_for_customer(customer: Customer, *, limit: int = 50) -> list[AuditEntry]:
    """The newest entries of one customer (one indexed query)."""
    return list(
        AuditEntry.objects.filter(customer=customer).select_related("actor").order_by("-at", "-id")[:limit]
    )
