"""A customer's timeline: one stream of everything that happened to it, newest first
(docs/workspace.md#timeline).

The customer page lives in accounts, which may not import surveys, metrics or playbooks; so each app
contributes its kinds as `Source`s, listed by dotted path in settings.CSHUB_TIMELINE_SOURCES (like the
customer panels). A source gives a queryset of one customer's rows annotated with the shared columns
(`columns(...)`), and a function that words one row. `timeline_page` joins every wanted source with
UNION ALL, orders and cuts the page in the database: one query per page, whatever the number of kinds.

Pages are cut by keyset (`before` = the last entry's (at, kind, ref)), so a page costs the same wherever it
starts and an entry logged meanwhile neither repeats nor hides one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    Expression,
    F,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

KINDS = (
    "touchpoint",
    "pulse",
    "note",
    "survey_response",
    "ticket",
    "playbook_run",
    "task",
    "mrr_change",
    "health_band",
    "renewal",
    "field_change",
)
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# The shared columns every source selects (prefixed: a model may have its own `kind` or `at`).
COLUMNS = ("tl_kind", "tl_at", "tl_ref", "tl_actor", "tl_actor_id", "tl_a", "tl_b", "tl_c")


@dataclass(frozen=True)
class Row:
    """One row as a source selected it: `a`, `b`, `c` are its own texts (summary, score, changes…)."""

    kind: str
    at: dt.datetime
    ref: int
    actor: str
    actor_id: int | None
    a: str
    b: str
    c: str


@dataclass(frozen=True)
class Source:
    kind: str
    label: str  # the filter's name for it ("Touchpoints")
    rows: Callable[[int], QuerySet]  # customer id -> its rows, annotated with columns(...)
    describe: Callable[[Row], tuple[str, str]]  # row -> (title, detail)
    editable: bool = False  # a log people edit and delete (touchpoint, pulse, note)


@dataclass(frozen=True)
class Entry:
    kind: str
    at: dt.datetime
    title: str
    detail: str
    actor: str
    actor_id: int | None
    ref: int
    editable: bool

    @property
    def cursor(self) -> str:
        return encode_cursor(self.at, self.kind, self.ref)

    @property
    def anchor(self) -> str:
        """Its HTML id: "note-12" for the logs people link to, "timeline-task-3" for the rest (the customer
        page's panels have their own "task-3")."""
        return f"{self.kind}-{self.ref}" if self.editable else f"timeline-{self.kind}-{self.ref}"


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    next_cursor: str | None  # `before` of the next page; None on the last page


class BadCursor(ValueError):
    pass


def text(expr: Any) -> Expression:
    """An expression as text, "" for null, so every source's texts share one type in the UNION."""
    if isinstance(expr, str):
        expr = F(expr)
    return Coalesce(Cast(expr, TextField()), Value(""), output_field=TextField())


def person(prefix: str) -> Expression:
    """The name of the user behind the foreign key `prefix` (full name, else email; "" when none)."""
    return Coalesce(
        NullIf(F(f"{prefix}__full_name"), Value("")),
        F(f"{prefix}__email"),
        Value(""),
        output_field=CharField(),
    )


def columns(
    qs: QuerySet,
    *,
    kind: str,
    at: str,
    at_is_date: bool = False,
    actor: str | None = None,
    actor_text: Any = None,
    a: Any = None,
    b: Any = None,
    c: Any = None,
) -> QuerySet:
    """Annotate `qs` with the shared columns: `at` names its moment (a date field with `at_is_date`: its
    midnight UTC), `actor` the foreign key to the user who acted (or `actor_text`, who acted in words: a
    survey's contact); unset texts are ""."""
    moment = Cast(F(at), DateTimeField()) if at_is_date else F(at)
    empty = Value("", output_field=TextField())
    return qs.order_by().annotate(
        tl_kind=Value(kind, output_field=CharField()),
        tl_at=moment,
        tl_ref=Cast("pk", BigIntegerField()),
        tl_actor=_actor(actor, actor_text),
        tl_actor_id=Cast(F(actor), BigIntegerField())
        if actor
        else Value(None, output_field=BigIntegerField()),
        tl_a=empty if a is None else text(a),
        tl_b=empty if b is None else text(b),
        tl_c=empty if c is None else text(c),
    )


def _actor(actor: str | None, actor_text: Any) -> Expression:
    """Who acted, in words: the user of `actor`, else `actor_text` (a deleted user's label, a contact)."""
    words = text(actor_text) if actor_text is not None else Value("", output_field=TextField())
    if not actor:
        return words
    return Coalesce(NullIf(person(actor), Value("")), words, output_field=TextField())


def sources() -> dict[str, Source]:
    """Every registered source by kind, in the order of KINDS."""
    found: dict[str, Source] = {}
    for path in settings.CSHUB_TIMELINE_SOURCES:
        for source in import_string(path)():
            found[source.kind] = source
    return {k: found[k] for k in KINDS if k in found}


def encode_cursor(at: dt.datetime, kind: str, ref: int) -> str:
    return f"{at.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}~{kind}~{ref}"


def decode_cursor(value: str) -> tuple[dt.datetime, str, int]:
    """(at, kind, ref) of a cursor; BadCursor for anything else."""
    parts = (value or "").split("~")
    if len(parts) != 3 or parts[1] not in KINDS or not parts[2].isascii() or not parts[2].isdigit():
        raise BadCursor("Not a timeline position; use the `next` value of the previous page.")
    at = parse_datetime(parts[0])
    if at is None or at.tzinfo is None or len(parts[2]) > 18:
        raise BadCursor("Not a timeline position; use the `next` value of the previous page.")
    return at, parts[1], int(parts[2])


def _before(kind: str, cursor: tuple[dt.datetime, str, int] | None) -> Q:
    """The keyset condition (at, kind, ref) < cursor, for one source whose kind is fixed."""
    if cursor is None:
        return Q()
    at, cursor_kind, ref = cursor
    if kind < cursor_kind:
        return Q(tl_at__lte=at)
    if kind > cursor_kind:
        return Q(tl_at__lt=at)
    return Q(tl_at__lt=at) | Q(tl_at=at, tl_ref__lt=ref)


def timeline_page(
    customer_id: int,
    *,
    kinds: Iterable[str] | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of a customer's timeline, newest first (one query). `kinds` narrows it (unknown kinds are
    the caller's 400: see `clean_kinds`); `before` is a cursor from the previous page."""
    cursor = decode_cursor(before) if before else None
    registry = sources()
    wanted = tuple(k for k in (kinds or registry) if k in registry)
    if not wanted:
        return TimelinePage(entries=[], next_cursor=None)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    sql, params = _compiled(
        wanted,
        cursor[1] if cursor else None,
        limit,
        timezone.localdate(),
        tuple(settings.CSHUB_TIMELINE_SOURCES),
    )
    values = {_CUSTOMER: customer_id}
    if cursor:
        values[_prepared(_AT)] = _prepared(cursor[0])
        values[_REF] = cursor[2]
    params = [values.get(p, p) if isinstance(p, int | str | dt.datetime) else p for p in params]
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = db.fetchall()
    entries = [_entry(registry[r[0]], r) for r in rows[:limit]]
    more = len(rows) > limit
    return TimelinePage(entries=entries, next_cursor=entries[-1].cursor if more and entries else None)


# The query is built with the ORM from every source, which costs more than running it (11 querysets with
# their annotations, ~10 ms of Python); its SQL differs only by kinds, the cursor's kind, the page size and
# the day (renewals "once due"), so it is built once per shape with stand-in values swapped for the real ones.
_CUSTOMER = -7_391_104_113
_REF = -7_391_104_114
_AT = dt.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC)


def _prepared(value: dt.datetime) -> Any:
    return DateTimeField().get_db_prep_value(value, connection)


@lru_cache(maxsize=256)
def _compiled(
    kinds: tuple[str, ...], cursor_kind: str | None, limit: int, today: dt.date, paths: tuple[str, ...]
) -> tuple[str, list[Any]]:
    registry = sources()
    cursor = (_AT, cursor_kind, _REF) if cursor_kind else None
    branches = [
        registry[k].rows(_CUSTOMER).filter(_before(k, cursor)).values(*COLUMNS).order_by() for k in kinds
    ]
    combined = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    query = combined.order_by("-tl_at", "-tl_kind", "-tl_ref").values_list(*COLUMNS)[: limit + 1].query
    sql, params = query.sql_with_params()
    return sql, list(params)


def timeline_entry(customer_id: int, *, kind: str, ref: int) -> Entry | None:
    """One entry by its kind and id (the item just logged, shown at the top without a reload)."""
    source = sources().get(kind)
    if source is None:
        return None
    row = source.rows(customer_id).filter(tl_ref=ref).values_list(*COLUMNS).first()
    return _entry(source, row) if row else None


def _entry(source: Source, values: Sequence[Any]) -> Entry:
    kind, at, ref, actor, actor_id, a, b, c = values
    if isinstance(at, str):  # a date cast to a datetime comes back as text on SQLite
        at = parse_datetime(at)
    if timezone.is_naive(at):
        at = timezone.make_aware(at, dt.UTC)
    row = Row(kind, at, int(ref), actor or "", actor_id, a or "", b or "", c or "")
    title, detail = source.describe(row)
    return Entry(
        kind=kind,
        at=at,
        title=title,
        detail=detail,
        actor=row.actor,
        actor_id=actor_id,
        ref=row.ref,
        editable=source.editable,
    )


def clean_kinds(values: Iterable[str]) -> list[str]:
    """The ?kind= values (repeated or comma-separated); ValueError naming an unknown one."""
    kinds: list[str] = []
    for value in values:
        for kind in filter(None, (v.strip() for v in value.split(","))):
            if kind not in KINDS:
                raise ValueError(f"Unknown kind “{kind[:40]}”; use one of {', '.join(KINDS)}.")
            if kind not in kinds:
                kinds.append(kind)
    return kinds
