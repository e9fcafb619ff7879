"""CSV import (docs/api.md field names as headers): the same validation and upsert functions as the API.

One transaction: any error (a table of line, column, message; the header is line 1) means nothing is written.
An empty cell is an absent field; blank lines are skipped; the delimiter (comma, semicolon, tab or pipe) is
read from the header line. `manage.py import_csv` runs it in the foreground, the /imports/ page as a
background job (integrations.services.import_job_run).
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from rest_framework import serializers

from accounts.serializers import ContactIngestSerializer, CustomerIngestSerializer
from accounts.services import contacts_upsert, customers_upsert
from core.api import validate_rows
from core.ingest import IngestError, RowError
from metrics import services
from metrics.serializers import (
    MrrIngestSerializer,
    RenewalIngestSerializer,
    TicketIngestSerializer,
    validate_usage_events,
)
from surveys.serializers import ResponseImportSerializer
from surveys.services import responses_import

# Rows validated and written at a time: the file is streamed, so memory depends on this, not on its size.
CHUNK_ROWS = 5000
MAX_ERRORS = 1000  # kept and shown; the rest are counted
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    validate: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    upsert: Callable[..., dict[str, int]]
    # The natural key of a validated row (its upsert refuses a key given twice in one call; a file is
    # written in chunks, so the import checks it across the whole file). None: repeats are fine.
    key: Callable[[dict[str, Any]], Any] | None = None
    key_field: str = ""
    # Called once after the last chunk with the external_ids of the customers written (the MRR ledger's
    # links are computed once for the whole file, not after every chunk).
    finish: Callable[..., None] | None = None


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
            lambda r: r["external_id"],
            "external_id",
        ),
        Kind(
            "contacts",
            "Contacts",
            ("customer", "email", "name", "title"),
            ("customer", "email"),
            _with(ContactIngestSerializer),
            contacts_upsert,
            lambda r: (r["customer"], r["email"].lower()),
            "email",
        ),
        Kind(
            "mrr",
            "MRR ledger",
            ("customer", "effective_date", "mrr"),
            ("customer", "effective_date", "mrr"),
            _with(MrrIngestSerializer),
            functools.partial(services.mrr_upsert, relink=False),
            lambda r: (r["customer"], r["effective_date"]),
            "effective_date",
            services.mrr_ledger_relink_external,
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
            lambda r: r["external_id"],
            "external_id",
        ),
        Kind(
            "renewals",
            "Renewals",
            ("customer", "due_date", "arr_due", "outcome", "renewed_arr"),
            ("customer", "due_date", "arr_due", "outcome"),
            _with(RenewalIngestSerializer),
            services.renewals_upsert,
            lambda r: (r["customer"], r["due_date"]),
            "due_date",
        ),
        Kind(
            "survey_responses",
            "Survey responses (history)",
            ("customer", "contact_email", "kind", "score", "comment", "answered_at"),
            ("customer", "contact_email", "kind", "score", "answered_at"),
            _with(ResponseImportSerializer),
            responses_import,
            lambda r: (r["customer"], r["contact_email"].lower(), r["kind"], r["answered_at"]),
            "answered_at",
        ),
    ]
}


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(
        default_factory=list
    )  # row = line number in the file; the first MAX_ERRORS
    error_count: int = 0  # every error found, also those past MAX_ERRORS

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_errors(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(error)


class _Rollback(Exception):
    """Raised inside the import's transaction once an error is known: nothing stays written."""


def _sniff_delimiter(header_line: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab | (comma when none appears)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_errors(kind: Kind, header: list[str], delimiter: str) -> list[RowError]:
    named = DELIMITER_NAMES[delimiter]
    errors = [
        RowError(
            1,
            name,
            f"Unknown column (the header was read as {named}-separated); the columns of {kind.name} are"
            f" {', '.join(kind.columns)}.",
        )
        for name in header
        if name not in kind.columns
    ]
    errors += [
        RowError(1, name, f"This required column is missing (the header was read as {named}-separated).")
        for name in kind.required
        if name not in header
    ]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "This column appears twice."))
        seen.add(name)
    return errors


def _text(file: IO[bytes] | IO[str]) -> IO[str]:
    if isinstance(file, io.TextIOBase):
        return file
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]


def _records(
    kind: Kind, text: IO[str], result: ImportResult
) -> Iterator[tuple[list[dict[str, Any]], list[int]]]:
    """The data rows in chunks of CHUNK_ROWS, each with the line number of every row; blank lines are
    skipped. Header and CSV syntax errors go to `result`."""
    first = text.readline()
    if not first.strip():
        result.add_errors([RowError(1, "non_field_errors", "The file is empty: expected a header line.")])
        return
    delimiter = _sniff_delimiter(first)
    try:
        header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
    except csv.Error as exc:
        result.add_errors([RowError(1, "non_field_errors", f"Not a CSV file: {exc}")])
        return
    header_errors = _header_errors(kind, header, delimiter)
    if header_errors:
        result.add_errors(header_errors)
        return
    reader = csv.reader(text, delimiter=delimiter)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue  # a blank line (often the file's last ones): nothing to import
            number = reader.line_num + 1  # + the header line read before the reader started
            if len(line) > len(header):
                result.add_errors([RowError(number, "non_field_errors", "More cells than columns.")])
            rows.append(
                {name: cell.strip() for name, cell in zip(header, line, strict=False) if cell.strip()}
            )
            lines.append(number)
            if len(rows) == CHUNK_ROWS:
                yield rows, lines
                rows, lines = [], []
    except csv.Error as exc:
        result.add_errors([RowError(reader.line_num + 1, "non_field_errors", f"Unreadable CSV: {exc}")])
    except UnicodeDecodeError:
        result.add_errors(
            [
                RowError(
                    reader.line_num + 2, "non_field_errors", "The file is not UTF-8 text from this line on."
                )
            ]
        )
    if rows:
        yield rows, lines


def csv_import(
    *,
    kind: str,
    file: IO[bytes] | IO[str],
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import a CSV file of `kind`: every row is validated and, as long as no row was bad, written; one
    transaction, so one bad row anywhere means nothing is written (docs/operations.md#csv-import).

    Streams the file in chunks of CHUNK_ROWS rows: memory stays flat whatever its size (docs/operations.md
    #csv-import). `progress(rows validated, rows written)` is called after every chunk."""
    spec = KINDS[kind]
    result = ImportResult(kind)
    keys: dict[Any, int] = {}
    touched: set[str] = set()  # customers written, for spec.finish
    written = 0
    try:
        text = _text(file)
        with transaction.atomic():
            for rows, lines in _records(spec, text, result):
                result.rows += len(rows)
                valid: list[dict[str, Any]] = []
                try:
                    valid = spec.validate(rows)
                except IngestError as exc:
                    result.add_errors(RowError(lines[e.row], e.field, e.message) for e in exc.errors)
                if valid and spec.key is not None:
                    for row, line in zip(valid, lines, strict=True):
                        k = spec.key(row)
                        if k in keys:
                            message = f"Duplicate of line {keys[k]} in this file."
                            result.add_errors([RowError(line, spec.key_field, message)])
                        else:
                            keys[k] = line
                if valid and not result.errors:
                    try:
                        counts = spec.upsert(rows=valid, first_row=0)
                    except IngestError as exc:
                        result.add_errors(RowError(lines[e.row], e.field, e.message) for e in exc.errors)
                    else:
                        for name, n in counts.items():
                            result.counts[name] = result.counts.get(name, 0) + n
                        written += len(valid)
                        if spec.finish is not None:
                            touched.update(row["customer"] for row in valid)
                if progress is not None:
                    progress(result.rows, written if not result.errors else 0)
            if not result.rows and not result.errors:
                result.add_errors([RowError(1, "non_field_errors", "The file has a header but no rows.")])
            if result.errors:
                raise _Rollback
            if spec.finish is not None:
                spec.finish(external_ids=touched)
    except _Rollback:
        result.counts = {}
    except UnicodeDecodeError:
        result.add_errors([RowError(1, "non_field_errors", "The file is not UTF-8 text.")])
    result.errors.sort(key=lambda e: e.row)
    return result
