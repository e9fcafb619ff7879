"""Survey history import (docs/surveys.md): historical answers, without invitations, from the API or a CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from accounts.dirty import customers_mark_dirty
from accounts.models import Contact, Customer
from core.ingest import IngestError, RowError, UpsertResult, bulk_upsert, check_duplicate_keys

from ..models import (
    Response,
)


def responses_import(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Upsert historical answers (no invitation) on (customer, contact_email, kind, answered_at).

    `rows` come from ResponseImportSerializer (customer = external_id). Unknown customers are row errors and
    nothing is written; the contact is linked when the address is a known contact of that customer.
    """
    errors = check_duplicate_keys(
        rows,
        lambda r: (r["customer"], r["contact_email"].lower(), r["kind"], r["answered_at"]),
        field_name="answered_at",
        first_row=first_row,
    )
    external_ids = sorted({r["customer"] for r in rows})
    customer_ids: dict[str, int] = {}
    for start in range(0, len(external_ids), 2000):
        chunk = external_ids[start : start + 2000]
        customer_ids.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    contacts = {
        (customer_id, email.lower()): pk
        for pk, customer_id, email in Contact.objects.filter(
            customer_id__in=customer_ids.values()
        ).values_list("pk", "customer_id", "email")
    }
    values: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        customer_id = customer_ids.get(row["customer"])
        if customer_id is None:
            errors.append(RowError(i + first_row, "customer", "No customer has this external_id."))
            continue
        email = row["contact_email"].lower()
        values.append(
            {
                "customer_id": customer_id,
                "contact_email": email,
                "contact_id": contacts.get((customer_id, email)),
                "kind": row["kind"],
                "score": row["score"],
                "comment": row.get("comment") or "",
                "answered_at": row["answered_at"],
            }
        )
    if errors:
        raise IngestError(sorted(errors, key=lambda e: e.row))
    with transaction.atomic():
        result: UpsertResult = bulk_upsert(
            model=Response,
            rows=values,
            key_fields=("customer_id", "contact_email", "kind", "answered_at"),
            lookup=lambda chunk: Response.objects.filter(
                invitation__isnull=True,
                customer_id__in={r["customer_id"] for r in chunk},
                contact_email__in={r["contact_email"] for r in chunk},
            ),
        )
        if result.created or result.updated:
            customers_mark_dirty(customer_ids={r["customer_id"] for r in values})  # NPS / CSAT
    return result.as_dict()
