"""CSV import (docs/api.md field names as headers): the same validation and upsert functions as the API.

Every row is validated first; any error (a table of line, column, message; the header is line 1) means nothing
is written. Otherwise all rows are written in one transaction. An empty cell is an absent field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from rest_framework import serializers

from accounts.serializers import ContactIngestSerializer, CustomerIngestSerializer
from accounts.services import contacts_upsert, customers_upsert
from core.api import validate_rows
from core.ingest import MAX_ROWS, IngestError, RowError
from core.sql import chunked
from metrics import services
from metrics.serializers import (
    MrrIngestSerializer,
    RenewalIngestSerializer,
    TicketIngestSerializer,
    validate_usage_events,
)
from surveys.serializers import ResponseImportSerializer
from surveys.services import responses_import

FIRST_DATA_LINE = 2  # the header is line 1


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    validate: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    upsert: Callable[..., dict[str, int]]


def _with(
    serializer_class: type[serializers.Serializer],
) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def validate(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return validate_rows(serializer_class, items)

    return validate


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "customers",
            "Customers",
            (
                "external_id",
                "name",
                "segment",
                "csm_email",
                "licenses",
                "contract_start",
                "go_live_date",
                "renewal_date",
            ),
            ("external_id", "name"),
            _with(CustomerIngestSerializer),
            customers_upsert,
        ),
        Kind(
            "contacts",
            "Contacts",
            ("customer", "email", "name", "title"),
            ("customer", "email"),
            _with(ContactIngestSerializer),
            contacts_upsert,
        ),
        Kind(
            "mrr",
            "MRR ledger",
            ("customer", "effective_date", "mrr"),
            ("customer", "effective_date", "mrr"),
            _with(MrrIngestSerializer),
            services.mrr_upsert,
        ),
        Kind(
            "usage_events",
            "Usage events",
            ("event_id", "customer", "user_id", "feature", "occurred_at", "quantity"),
            ("event_id", "customer", "user_id", "feature", "occurred_at"),
            validate_usage_events,
            services.usage_events_ingest,
        ),
        Kind(
            "tickets",
            "Support tickets",
            (
                "external_id",
                "customer",
                "opened_at",
                "resolved_at",
                "priority",
                "first_contact_resolution",
                "category",
            ),
            ("external_id", "customer", "opened_at", "priority"),
            _with(TicketIngestSerializer),
            services.tickets_upsert,
        ),
        Kind(
            "renewals",
            "Renewals",
            ("customer", "due_date", "arr_due", "outcome", "renewed_arr"),
            ("customer", "due_date", "arr_due", "outcome"),
            _with(RenewalIngestSerializer),
            services.renewals_upsert,
        ),
        Kind(
            "survey_responses",
            "Survey responses (history)",
            ("customer", "contact_email", "kind", "score", "comment", "answered_at"),
            ("customer", "contact_email", "kind", "score", "answered_at"),
            _with(ResponseImportSerializer),
            responses_import,
        ),
    ]
}


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)  # row = line number in the file

    @property
    def ok(self) -> bool:
        return not self.errors


def _read(kind: Kind, text: IO[str]) -> tuple[list[dict[str, Any]], list[RowError]]:
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [RowError(1, "non_field_errors", "The file is empty: expected a header line.")]
    except csv.Error as exc:
        return [], [RowError(1, "non_field_errors", f"Not a CSV file: {exc}")]
    errors = [
        RowError(1, name, f"Unknown column; the columns of {kind.name} are {', '.join(kind.columns)}.")
        for name in header
        if name not in kind.columns
    ]
    errors += [
        RowError(1, name, "This required column is missing.") for name in kind.required if name not in header
    ]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "This column appears twice."))
        seen.add(name)
    if errors:
        return [], errors
    rows: list[dict[str, Any]] = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                line = []  # a blank line still counts as a line; it becomes a row error below
            if len(line) > len(header):
                errors.append(
                    RowError(FIRST_DATA_LINE + len(rows), "non_field_errors", "More cells than columns.")
                )
            rows.append(
                {name: cell.strip() for name, cell in zip(header, line, strict=False) if cell.strip() != ""}
            )
    except csv.Error as exc:
        errors.append(RowError(FIRST_DATA_LINE + len(rows), "non_field_errors", f"Unreadable CSV: {exc}"))
    if not rows and not errors:
        errors.append(RowError(1, "non_field_errors", "The file has a header but no rows."))
    return rows, errors


def csv_import(*, kind: str, file: IO[bytes] | IO[str]) -> ImportResult:
    """Validate every row of a CSV file of `kind`, then upsert all of them in one transaction, or nothing."""
    spec = KINDS[kind]
    raw = file.read()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ImportResult(kind, errors=[RowError(1, "non_field_errors", "The file is not UTF-8 text.")])
    rows, errors = _read(spec, io.StringIO(raw, newline=""))
    result = ImportResult(kind, rows=len(rows))
    if len(rows) > MAX_ROWS:  # the API's limit per request (docs/api.md#bad-input)
        result.errors = [
            RowError(
                1, "non_field_errors", f"At most {MAX_ROWS:,} rows per file ({len(rows):,} sent): split it."
            )
        ]
        return result
    valid: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunked(rows, MAX_ROWS)):
        start = index * MAX_ROWS
        try:
            valid.extend(spec.validate(list(chunk)))
        except IngestError as exc:
            errors.extend(RowError(e.row + start + FIRST_DATA_LINE, e.field, e.message) for e in exc.errors)
    if errors:
        result.errors = sorted(errors, key=lambda e: e.row)
        return result
    try:
        with transaction.atomic():
            result.counts = spec.upsert(rows=valid, first_row=FIRST_DATA_LINE)
    except IngestError as exc:
        result.errors = exc.errors
    return result
