"""The audit log of what connectors change (docs/workspace.md#audit-log): customers and contacts written by
Segment or Stripe appear under the connector's name, one entry per created or changed row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from accounts.audit import snapshot
from accounts.models import AuditAction, AuditEntry, Customer
from accounts.services import customers_upsert
from core.sql import chunked

CUSTOMER_FIELDS = ("external_id", "name", "segment", "licenses")


def audit_changes(
    before: dict[Any, Any],
    after: dict[Any, Any],
    fields: Sequence[str],
    *,
    label: str,
    customer_of: Callable[[Any], int],
) -> int:
    """One entry per row of `after` that is new or differs from `before` on `fields`, in one statement."""
    entries = []
    for key, obj in after.items():
        old = before.get(key)
        new_values = snapshot(obj, fields)
        old_values = snapshot(old, fields) if old is not None else {}
        changes = {
            name: {"before": old_values.get(name), "after": value}
            for name, value in new_values.items()
            if old_values.get(name) != value
        }
        if changes:
            entries.append(
                AuditEntry(
                    actor=None,
                    actor_label=label,
                    action=AuditAction.UPDATE if old is not None else AuditAction.CREATE,
                    object_type=obj._meta.model_name,
                    object_id=str(obj.pk),
                    object_repr=str(obj)[:200],
                    customer_id=customer_of(obj),
                    changes=changes,
                )
            )
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)


def _by_external_id(ids: Sequence[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    for chunk in chunked(sorted(set(ids))):
        found.update((c.external_id, c) for c in Customer.objects.filter(external_id__in=chunk))
    return found


def customers_upsert_audited(*, rows: Sequence[dict[str, Any]], label: str) -> dict[str, int]:
    """accounts.services.customers_upsert, with an audit entry per customer it created or changed."""
    ids = [r["external_id"] for r in rows]
    before = _by_external_id(ids)
    result = customers_upsert(rows=rows)
    if result["created"] or result["updated"]:
        audit_changes(before, _by_external_id(ids), CUSTOMER_FIELDS, label=label, customer_of=lambda c: c.pk)
    return result
