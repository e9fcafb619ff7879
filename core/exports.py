"""CSV export of any table, with the page's filters applied: the export link is the page's own URL plus
`format=csv` (and `table=<name>` when a page has several tables), so the file holds what the table shows.

    if exports.wants_csv(request):
        return exports.csv_response("book", BOOK_COLUMNS, customers)

    {% include "components/export_link.html" with table="renewals" %}   {# in the template #}

Values are written as data, not display text: numbers unformatted, rates as decimal fractions (docs/api.md),
dates ISO 8601, empty for null. Text that a spreadsheet would run as a formula is prefixed with a quote.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from .db import iterate_from_replica

Column = tuple[str, Callable[[Any], Any]]  # (header, value of a row)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: HttpRequest, table: str | None = None) -> bool:
    """`?format=csv`, and `table=<table>` when given (a page with several tables exports one at a time)."""
    if request.GET.get("format") != "csv":
        return False
    return table is None or request.GET.get("table", "") == table


def cell(value: Any) -> Any:
    """One value as CSV data."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral() else value, "f")
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # OWASP CSV injection: never let a cell start a formula
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _value in columns])
    for row in rows:
        yield writer.writerow([cell(value(row)) for _header, value in columns])


def csv_response(name: str, columns: Sequence[Column], rows: Iterable[Any]) -> StreamingHttpResponse:
    """A streamed `text/csv` download named `<name>-<today>.csv` (rows may be a lazy queryset iterator).
    Exports only read: the rows are fetched inside core.db's replica scope as they stream."""
    filename = f"{slugify(name) or 'export'}-{timezone.localdate().isoformat()}.csv"
    response = StreamingHttpResponse(
        csv_lines(columns, iterate_from_replica(rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def read_csv(content: bytes | str) -> list[list[str]]:
    """Parse an export back (tests, and anyone checking a file): rows of strings, header first."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return list(csv.reader(text.splitlines()))
