"""Shared machinery for the ingestion endpoints and CSV imports (docs/api.md).

Two steps, always in this order: validate every row (collecting `RowError`s, writing nothing), then upsert
all rows on their natural key inside one transaction. `bulk_upsert` answers created/updated/unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

from .errors import Busy
from .sql import chunked, placeholders

MAX_ROWS = 10_000
# Reads-then-inserts tried this many times against concurrent inserts of the same keys before a 503.
UPSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class RowError:
    row: int  # API: 0-based index in the posted list; CSV: line number in the file (header = line 1)
    field: str  # the offending field/column, or "non_field_errors"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class IngestError(Exception):
    """Raised with every row error found; nothing has been written."""

    def __init__(self, errors: Sequence[RowError]):
        super().__init__(f"{len(errors)} invalid row(s)")
        self.errors = list(errors)


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    objects: list[models.Model] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def check_duplicate_keys(
    rows: Sequence[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    *,
    field_name: str,
    first_row: int = 0,
) -> list[RowError]:
    """A natural key given twice in one request is ambiguous: report it rather than guess which row wins."""
    seen: dict[Any, int] = {}
    errors = []
    for i, row in enumerate(rows):
        k = key(row)
        if k in seen:
            errors.append(RowError(i + first_row, field_name, f"Duplicate of row {seen[k]} in this request."))
        else:
            seen[k] = i + first_row
    return errors


def _bulk_update(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """The SQL of QuerySet.bulk_update (`SET f = CASE pk WHEN … THEN … END WHERE pk IN (…)`), built as text.

    Django's bulk_update builds and resolves a When() expression per row and field, which costs ~0.25 ms
    each: ~5 s to update 10,000 rows on two fields, in Python. The same statements built as strings take
    milliseconds.
    """
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    max_params = connection.features.max_query_params or 30_000
    size = max(1, min(500, max_params // (2 * len(columns) + 1)))
    cast = connection.features.requires_casted_case_in_updates  # PostgreSQL: CASE branches need a type
    with connection.cursor() as cursor:
        for batch in chunked(objs, size):
            pks = [pk.get_db_prep_save(obj.pk, connection) for obj in batch]
            assignments: list[str] = []
            params: list[Any] = []
            for field in columns:
                value_sql = f"CAST(%s AS {field.cast_db_type(connection)})" if cast else "%s"
                whens = " ".join([f"WHEN %s THEN {value_sql}"] * len(batch))
                column = qn(field.column)
                assignments.append(f"{column} = CASE {qn(pk.column)} {whens} ELSE {column} END")
                for obj, key in zip(batch, pks, strict=True):
                    params += [key, field.get_db_prep_save(getattr(obj, field.attname), connection)]
            cursor.execute(
                f"UPDATE {qn(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608 -- names quoted, values bound
                f"WHERE {qn(pk.column)} IN ({placeholders(len(batch))})",
                [*params, *pks],
            )


def bulk_upsert(
    *,
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    key_fields: Sequence[str],
    lookup: Callable[[Sequence[dict[str, Any]]], models.QuerySet] | None = None,
    lock_on_change: str | None = None,
) -> UpsertResult:
    """Insert or update `rows` (already validated, values as model attributes) on `key_fields`.

    Only the fields present in a row are written on update, so an integration can send partial objects.
    Must be called inside a transaction (the callers' services own it). `lookup` narrows the query that
    finds existing objects; by default it filters on the first key field.

    `lock_on_change`: a field whose change the database's triggers act on under a row lock (a customer's
    `csm_id`: the book_csm trigger locks the customer FOR UPDATE). The rows whose value changes are locked
    FOR UPDATE in id order first, and new rows that belong to a customer are inserted in customer order
    (a fact's insert locks its customer FOR KEY SHARE): so an import that moves customers and a batch of
    facts for the same customers take their locks in the same order and cannot deadlock.
    """
    if not rows:
        return UpsertResult()
    for attempt in range(1, UPSERT_ATTEMPTS + 1):
        try:
            return _upsert_once(
                model=model, rows=rows, key_fields=key_fields, lookup=lookup, lock_on_change=lock_on_change
            )
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise IngestError(
                    [RowError(0, "non_field_errors", f"Refused by the database: {exc}")]
                ) from exc
            # A concurrent request created one of these keys between our read and our insert; it has
            # committed by now (our insert waited for it), so reading again finds its rows: an identical
            # batch becomes "unchanged" (docs/operations.md#failure-rules).
            if attempt == UPSERT_ATTEMPTS:
                raise Busy("Conflicting concurrent writes of the same rows; retry shortly.") from exc
    raise AssertionError("unreachable")


def is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate key (PostgreSQL SQLSTATE 23505; SQLite's "UNIQUE constraint failed")."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc)


def _upsert_once(
    *,
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    key_fields: Sequence[str],
    lookup: Callable[[Sequence[dict[str, Any]]], models.QuerySet] | None,
    lock_on_change: str | None,
) -> UpsertResult:
    result = UpsertResult()

    # Compare foreign keys by id (`customer_id`), never through the descriptor (`obj.customer`), which would
    # fetch the related object once per row. Rows may hold either a model instance or its id.
    attnames = {f.name: f.attname for f in model._meta.concrete_fields}

    def plain(value: Any) -> Any:
        return value.pk if isinstance(value, models.Model) else value

    def key_of(values: dict[str, Any] | models.Model) -> tuple:
        if isinstance(values, dict):
            return tuple(plain(values[f]) for f in key_fields)
        return tuple(getattr(values, attnames.get(f, f)) for f in key_fields)

    existing: dict[tuple, models.Model] = {}
    for chunk in chunked(rows):
        if lookup is not None:
            qs = lookup(chunk)
        else:
            first = key_fields[0]
            qs = model._default_manager.filter(**{f"{first}__in": {plain(r[first]) for r in chunk}})
        for obj in qs:
            existing[key_of(obj)] = obj

    has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    now = timezone.now()
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    locked: list[Any] = []
    for row in rows:
        obj = existing.get(key_of(row))
        if obj is None:
            obj = model(**row)
            to_create.append(obj)
            existing[key_of(row)] = obj
            continue
        dirty = False
        for name, value in row.items():
            if name in key_fields:
                continue
            if getattr(obj, attnames.get(name, name)) != plain(value):
                if name == lock_on_change:
                    locked.append(obj.pk)
                setattr(obj, name, value)
                changed_fields.add(name)
                dirty = True
        if dirty:
            if has_updated_at:
                obj.updated_at = now  # bulk_update does not run auto_now
            to_update.append(obj)
        else:
            result.unchanged += 1
        result.objects.append(obj)

    for chunk in chunked(sorted(locked)):  # see lock_on_change; SQLite ignores FOR UPDATE (one writer)
        list(model._default_manager.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk"))
    with transaction.atomic():  # a savepoint: an IntegrityError leaves the caller's transaction usable
        model._default_manager.bulk_create(
            sorted(to_create, key=lambda obj: getattr(obj, "customer_id", None) or 0), batch_size=2000
        )
    if to_update:
        if has_updated_at:
            changed_fields.add("updated_at")
        _bulk_update(model, to_update, sorted(changed_fields))
    result.created = len(to_create)
    result.updated = len(to_update)
    result.objects.extend(to_create)
    return result


def ingest_items(payload: Any) -> list[Any]:
    """The objects of an ingestion body: one object, or a non-empty list of at most MAX_ROWS (IngestError)."""
    if isinstance(payload, dict):
        items = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        raise IngestError([RowError(0, "non_field_errors", "Send a JSON object or a list of objects.")])
    if not items:
        raise IngestError([RowError(0, "non_field_errors", "The list is empty.")])
    if len(items) > MAX_ROWS:
        raise IngestError(
            [
                RowError(
                    0, "non_field_errors", f"At most {MAX_ROWS:,} objects per request ({len(items):,} sent)."
                )
            ]
        )
    return items
