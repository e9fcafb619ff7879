"""Writes of the metrics app: ingestion of MRR, usage events, tickets, renewals (docs/api.md); milestones.

Every ingestion service takes rows already validated by its serializer (or `validate_usage_events`), resolves
customer external_ids in one query per chunk, and writes everything in one transaction or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import audit
from accounts.dirty import customers_mark_dirty
from accounts.models import AuditAction, AuditEntry, Customer, LifecycleStage, User
from accounts.visibility import can_edit_customer, can_ingest
from core import events
from core.ingest import IngestError, RowError, bulk_upsert, check_duplicate_keys
from core.sql import chunked, placeholders

from .churn import churn_dates, in_force_q, ledger_churned_on
from .engagement import first_utilization_current_sql, usage_value_sql
from .models import (
    FirstUtilizationDay,
    KeyFeature,
    MrrEntry,
    Renewal,
    Ticket,
    UsageDaily,
    UsageEvent,
    UsageUserDay,
    ValueMilestone,
)
from .renewal_rules import forecast_freeze
from .scope import q


def _customer_ids(
    rows: Sequence[dict[str, Any]], *, first_row: int, errors: list[RowError]
) -> list[dict[str, Any]]:
    """Replace each row's `customer` external_id by `customer_id`; unknown ones become row errors."""
    external_ids = sorted({r["customer"] for r in rows})
    ids: dict[str, int] = {}
    for chunk in chunked(external_ids):
        ids.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    customers_lock(customer_ids=ids.values())
    out = []
    for i, row in enumerate(rows):
        values = dict(row)
        customer_id = ids.get(values.pop("customer"))
        if customer_id is None:
            errors.append(RowError(i + first_row, "customer", "No customer has this external_id."))
            continue
        values["customer_id"] = customer_id
        out.append(values)
    return out


def customers_lock(*, customer_ids: Iterable[int]) -> None:
    """Serialise writes to these customers' facts (docs/operations.md#failure-rules): lock their rows in id
    order until the transaction ends. A second batch for the same customers waits here, then reads (READ
    COMMITTED) what the first one wrote: its ledger links are computed over every committed row, and an
    identical batch finds its rows "unchanged". FOR NO KEY UPDATE conflicts with itself and with the
    book_csm trigger's FOR UPDATE, not with the FOR KEY SHARE of a usage event's foreign key, so usage
    ingestion never waits on it. Id order everywhere, so two batches cannot deadlock. SQLite has one
    writer at a time and ignores the lock."""
    for chunk in chunked(sorted(set(customer_ids))):
        list(
            Customer.objects.select_for_update(no_key=True)
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk")
        )


def _raise_if(errors: list[RowError]) -> None:
    if errors:
        raise IngestError(sorted(errors, key=lambda e: e.row))


@transaction.atomic
def mrr_upsert(*, rows: Sequence[dict[str, Any]], first_row: int = 0, relink: bool = True) -> dict[str, int]:
    """Create or update MRR ledger rows on (customer, effective_date); all or nothing. `relink=False`: the
    caller writes more batches in the same transaction and calls mrr_ledger_relink_external once at the end
    (the CSV import: relinking after every chunk would rewrite the same rows again and again)."""
    errors = check_duplicate_keys(
        rows, lambda r: (r["customer"], r["effective_date"]), field_name="effective_date", first_row=first_row
    )
    values = _customer_ids(rows, first_row=first_row, errors=errors)
    _raise_if(errors)

    def lookup(chunk: Sequence[dict[str, Any]]) -> Any:
        return MrrEntry.objects.filter(
            customer_id__in={r["customer_id"] for r in chunk},
            effective_date__in={r["effective_date"] for r in chunk},
        )

    result = bulk_upsert(
        model=MrrEntry, rows=values, key_fields=["customer_id", "effective_date"], lookup=lookup
    )
    if relink and (result.created or result.updated):
        mrr_ledger_relink(customer_ids=sorted({r["customer_id"] for r in values}))
        customers_mark_dirty(customer_ids={r["customer_id"] for r in values})  # revenue trend, who is scored
    return result.as_dict()


def mrr_ledger_relink_external(*, external_ids: Iterable[str]) -> None:
    """mrr_ledger_relink for the customers with these external_ids (after mrr_upsert(relink=False))."""
    ids: list[int] = []
    for chunk in chunked(sorted(set(external_ids))):
        ids.extend(Customer.objects.filter(external_id__in=chunk).values_list("pk", flat=True))
    if ids:
        mrr_ledger_relink(customer_ids=sorted(ids))


def mrr_ledger_relink(*, customer_ids: Sequence[int] | None = None) -> None:
    """Recompute prev_mrr, positive_before, next_date and prev_date of the customers' ledger rows (all when
    None).

    docs/metrics.md classifies each ledger row against the MRR just before it and whether any positive value
    existed before; this is that LAG window, run once per write instead of at every read. Every writer of
    MrrEntry calls it (ingestion, CSV import, demo); the engine's identity check catches any that don't.
    """
    table = connection.ops.quote_name(MrrEntry._meta.db_table)
    window = "OVER (PARTITION BY customer_id ORDER BY effective_date"
    chunks: Iterable[Sequence[int] | None] = [None] if customer_ids is None else chunked(list(customer_ids))
    with connection.cursor() as cursor:
        for chunk in chunks:
            where, params = "", []
            if chunk is not None:
                if not chunk:
                    continue
                where = f" WHERE customer_id IN ({placeholders(len(chunk))})"
                params = list(chunk)
            cursor.execute(
                f"""
                UPDATE {table}
                SET prev_mrr = w.prev, positive_before = w.positive_before, next_date = w.next_date,
                    prev_date = w.prev_date
                FROM (
                    SELECT id,
                           LAG(mrr, 1, 0) {window}) AS prev,
                           CASE WHEN MAX(mrr) {window} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > 0
                                THEN TRUE ELSE FALSE END AS positive_before,
                           LEAD(effective_date) {window}) AS next_date,
                           LAG(effective_date) {window}) AS prev_date
                    FROM {table}{where}
                ) w
                WHERE {table}.id = w.id
                """,  # noqa: S608 - table name and placeholders are ours
                params,
            )
    customers_lifecycle_follow_ledger(customer_ids=customer_ids)


# A returning customer starts over: a new contract to onboard, whatever stage it had left in.
REACTIVATED_STAGE = LifecycleStage.ONBOARDING


def customers_lifecycle_follow_ledger(
    *, customer_ids: Sequence[int] | None = None, today: dt.date | None = None
) -> tuple[int, int]:
    """Make the customers' lifecycle stage follow their MRR as of today (docs/health.md#who-is-scored);
    returns (churned, reactivated). Called by mrr_ledger_relink, so in the transaction of every ledger write.

    - MRR 0 today after a positive MRR before (the ledger's churn, churn.ledger_churned_on) → `churned`;
    - `churned` with a positive MRR today after a ledger churn (a reactivation) → `onboarding`
      (REACTIVATED_STAGE). A customer marked `churned` by hand whose ledger never went to 0 stays `churned`.

    Two set-based UPDATEs per chunk of ids (all customers when None), whatever the number of rows."""
    today = today or timezone.localdate()
    ledger = MrrEntry.objects.filter(customer_id=OuterRef("pk"))
    paying = Exists(ledger.filter(in_force_q(today), mrr__gt=0))
    churned_before = Exists(ledger.filter(effective_date__lte=today, mrr=0, positive_before=True))
    chunks: Iterable[Sequence[int] | None] = [None] if customer_ids is None else chunked(list(customer_ids))
    churned = reactivated = 0
    for chunk in chunks:
        if chunk is not None and not chunk:
            continue
        customers = Customer.objects.all() if chunk is None else Customer.objects.filter(pk__in=chunk)
        churning = customers.exclude(lifecycle_stage=LifecycleStage.CHURNED).filter(ledger_churned_on(today))
        if events.has_subscribers("customer.churned"):
            # The ids first, to announce each churn (rare) with the day its MRR went to 0.
            ids = list(churning.values_list("pk", flat=True))
            if ids:
                churned += Customer.objects.filter(pk__in=ids).update(
                    lifecycle_stage=LifecycleStage.CHURNED, updated_at=timezone.now()
                )
                days = churn_dates(customer_ids=ids, day=today)
                events.publish_many(
                    "customer.churned",
                    [{"customer_id": pk, "day": days.get(pk, today).isoformat()} for pk in ids],
                )
        else:
            churned += churning.update(lifecycle_stage=LifecycleStage.CHURNED, updated_at=timezone.now())
        reactivated += customers.filter(
            paying, churned_before, lifecycle_stage=LifecycleStage.CHURNED
        ).update(lifecycle_stage=REACTIVATED_STAGE, updated_at=timezone.now())
    return churned, reactivated


@transaction.atomic
def tickets_upsert(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Create or update support tickets on external_id; all or nothing."""
    errors = check_duplicate_keys(
        rows, lambda r: r["external_id"], field_name="external_id", first_row=first_row
    )
    values = _customer_ids(rows, first_row=first_row, errors=errors)
    _raise_if(errors)
    result = bulk_upsert(model=Ticket, rows=values, key_fields=["external_id"])
    if result.created or result.updated:
        customers_mark_dirty(customer_ids={r["customer_id"] for r in values})  # support load
    return result.as_dict()


@transaction.atomic
def renewals_upsert(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Create or update renewals on (customer, due_date); all or nothing."""
    errors = check_duplicate_keys(
        rows, lambda r: (r["customer"], r["due_date"]), field_name="due_date", first_row=first_row
    )
    values = _customer_ids(rows, first_row=first_row, errors=errors)
    _raise_if(errors)
    for row in values:
        if row.get("outcome") != "renewed" and "renewed_arr" not in row:
            row["renewed_arr"] = None

    def lookup(chunk: Sequence[dict[str, Any]]) -> Any:
        return Renewal.objects.filter(
            customer_id__in={r["customer_id"] for r in chunk}, due_date__in={r["due_date"] for r in chunk}
        )

    before = {}
    for chunk in chunked(values):
        before.update({(r["customer_id"], r["due_date"]): r for r in lookup(chunk).values(*RENEWAL_AUDITED)})
    result = bulk_upsert(model=Renewal, rows=values, key_fields=["customer_id", "due_date"], lookup=lookup)
    if result.created or result.updated:
        entries = []
        for chunk in chunked(values):
            # An outcome that arrives here closes the forecast as the app's does (docs/renewals.md#outcomes).
            forecast_freeze(renewal_ids=lookup(chunk).values("pk"), today=timezone.localdate())
            for row in lookup(chunk).values(*RENEWAL_AUDITED):
                entry = _renewal_audit_entry(before.get((row["customer_id"], row["due_date"])), row)
                if entry is not None:
                    entries.append(entry)
        audit.record_many(entries)  # docs/workspace.md#audit-log: ingested changes too
    return result.as_dict()


RENEWAL_AUDITED = (
    "id",
    "customer_id",
    "due_date",
    "arr_due",
    "outcome",
    "renewed_arr",
    "closed_expected_arr",
)


def _renewal_audit_entry(old: dict[str, Any] | None, new: dict[str, Any]) -> AuditEntry | None:
    """The audit entry of one ingested renewal: created, or the fields that changed (None: nothing did)."""
    fields = RENEWAL_AUDITED[3:]
    changes = audit.diff({k: old[k] for k in fields} if old else {}, {k: new[k] for k in fields})
    if not changes:
        return None
    return AuditEntry(
        actor=None,
        actor_label="ingestion (API or CSV import)",
        action=AuditAction.UPDATE if old else AuditAction.CREATE,
        object_type="renewal",
        object_id=str(new["id"]),
        object_repr=f"Renewal {new['due_date'].isoformat()}",
        customer_id=new["customer_id"],
        changes=changes,
    )


# --- Key features (docs/api.md#key-features) ----------------------------------------------------


@transaction.atomic
def key_features_upsert(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Create or update key features on `name`; all or nothing. Callers check who may (admins)."""
    _raise_if(check_duplicate_keys(rows, lambda r: r["name"], field_name="name", first_row=first_row))
    result = bulk_upsert(model=KeyFeature, rows=rows, key_fields=["name"])
    if result.created or result.updated:
        customers_mark_dirty(customer_ids=None)  # feature breadth, of every customer
    return result.as_dict()


def key_feature_delete(*, user: User, name: str) -> None:
    """Remove a key feature (admins); KeyFeature.DoesNotExist (a 404 in the API) if there is none."""
    if not can_ingest(user):
        raise PermissionDenied("Only admins may change the key features.")
    with transaction.atomic():
        deleted, _ = KeyFeature.objects.filter(name=name).delete()
        if not deleted:
            raise KeyFeature.DoesNotExist(f"No key feature is named {name!r}.")
        customers_mark_dirty(customer_ids=None)  # feature breadth, of every customer


# --- Usage events ---------------------------------------------------------------------------------

_EVENT_COLUMNS = ("event_id", "customer_id", "user_id", "feature", "occurred_at", "quantity")
_DAILY_COLUMNS = ("customer_id", "day", "user_id", "feature", "events", "quantity")


def _rows_per_statement(columns: int) -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        raw = connection.connection
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if raw is not None else 999
    else:
        limit = 65535  # PostgreSQL's bind-parameter limit
    return max(1, min(5000, limit // columns))


def _insert_values_sql(table: str, columns: Sequence[str], rows: int) -> str:
    row = f"({placeholders(len(columns))})"
    return f"INSERT INTO {table} ({','.join(columns)}) VALUES {','.join([row] * rows)}"  # noqa: S608 - fixed names


@transaction.atomic
def usage_events_ingest(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Store new usage events and add them to the daily rollup; already-known event_ids count as duplicates.

    An event is identified by (event_id, occurred_at): on PostgreSQL the table is partitioned by month of
    occurred_at and a unique key must hold it (docs/operations.md#usage-partitions); a retry carries both.
    Idempotent under retries and concurrent requests: events go in with `ON CONFLICT (event_id, occurred_at)
    DO NOTHING RETURNING …`, and only the returned (newly inserted) events are added to UsageDaily with an
    atomic `ON CONFLICT … DO UPDATE SET events = events + excluded.events`. PostgreSQL does both in one
    statement; SQLite (≥ 3.35) in chunks. An event_id repeated inside one request counts once (the first
    one wins).
    """
    # Rows are used as they are (no per-row copies): at 10,000 events a request every allocation shows.
    external_ids = sorted({r["customer"] for r in rows})
    ids: dict[str, int] = {}
    for chunk in chunked(external_ids):
        ids.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    errors = [
        RowError(i + first_row, "customer", "No customer has this external_id.")
        for i, r in enumerate(rows)
        if r["customer"] not in ids
    ]
    _raise_if(errors)

    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["event_id"], row)
    # Sorted keys: concurrent requests with overlapping events take row locks in the same order (no deadlock).
    events = [unique[k] for k in sorted(unique)]
    if connection.vendor == "postgresql":
        accepted = _ingest_events_postgresql(events, ids)
    else:
        accepted = _ingest_events_generic(events, ids)
    if accepted:  # the usage factors (docs/health.md#live-data)
        customers_mark_dirty(customer_ids={ids[r["customer"]] for r in events})
    return {"accepted": accepted, "duplicates": len(rows) - accepted}


_DAILY_UPSERT = (
    " ON CONFLICT (customer_id, day, user_id, feature) DO UPDATE SET"
    " events = {t}.events + excluded.events, quantity = {t}.quantity + excluded.quantity"
)
_USER_DAY_UPSERT = (
    " ON CONFLICT (customer_id, day, user_id) DO UPDATE SET events = {t}.events + excluded.events"
)
# Per customer with new usage and the earliest day of it (rows of `days`: customer_id, that day, 0, NULL,
# 0, -1): make its FirstUtilizationDay row stale unless the row is current and already reached on or before
# that day (usage on or after the answer cannot move it). Every touched row is written, so locked, either
# way: a refresh running meanwhile waits for this transaction and then sees its usage
# (first_utilization_refresh). A new row starts stale (computed_version -1; its day means nothing).
_TOUCHED_DAYS = "SELECT customer_id, MIN(day), 0, NULL::date, 0, -1 FROM users GROUP BY 1 ORDER BY 1"
_FIRST_UTILIZATION_MARK = """
    INSERT INTO {t} (customer_id, day, licenses, contract_start, version, computed_version) {days}
    ON CONFLICT (customer_id) DO UPDATE SET version = {t}.version + CASE
        WHEN {t}.computed_version = {t}.version AND {t}.day IS NOT NULL AND {t}.day <= excluded.day THEN 0
        ELSE 1 END
"""


def usage_events_insert_sql(source: str) -> str:
    """The CTEs `ins`, `rollup`, `users` and `touched` of a WITH clause: insert the rows of `source` (a SELECT
    of event_id, customer_id, user_id, feature, occurred_at, quantity; one row per event_id, in event_id
    order) into UsageEvent and roll up exactly the inserted ones. Parameters: those of `source`, then the
    time zone twice. Also for writers whose whole batch is one statement (integrations.segment.batch_sql)."""
    event_table = connection.ops.quote_name(UsageEvent._meta.db_table)
    daily_table = connection.ops.quote_name(UsageDaily._meta.db_table)
    user_day_table = connection.ops.quote_name(UsageUserDay._meta.db_table)
    first_table = connection.ops.quote_name(FirstUtilizationDay._meta.db_table)
    return f"""
        ins AS (
            INSERT INTO {event_table} ({",".join(_EVENT_COLUMNS)})
            {source}
            ON CONFLICT (event_id, occurred_at) DO NOTHING
            RETURNING customer_id, user_id, feature, occurred_at, quantity
        ),
        rollup AS (
            INSERT INTO {daily_table} (customer_id, day, user_id, feature, events, quantity)
            SELECT customer_id, (occurred_at AT TIME ZONE %s)::date AS day, user_id, feature,
                   COUNT(*), SUM(quantity)
            FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            {_DAILY_UPSERT.format(t=daily_table)}
        ),
        users AS (
            INSERT INTO {user_day_table} (customer_id, day, user_id, events)
            SELECT customer_id, (occurred_at AT TIME ZONE %s)::date AS day, user_id, COUNT(*)
            FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            {_USER_DAY_UPSERT.format(t=user_day_table)}
            RETURNING customer_id, day
        ),
        touched AS (
            {_FIRST_UTILIZATION_MARK.format(t=first_table, days=_TOUCHED_DAYS)}
        )
    """  # noqa: S608 - table names are ours


# PostgreSQL's timestamptz reads offsets up to ±15:59; ISO 8601 and Python allow up to ±23:59.
_PG_MAX_OFFSET = dt.timedelta(hours=15, minutes=59)


def _timestamptz_text(row: dict[str, Any]) -> str:
    """The event's instant as text timestamptz reads: the text it came as, unless its offset is past what
    PostgreSQL takes, then the same instant in UTC."""
    occurred = row["occurred_at"]
    offset = occurred.utcoffset()
    if offset is not None and abs(offset) > _PG_MAX_OFFSET:
        return occurred.astimezone(dt.UTC).isoformat()
    return row.get("occurred_at_text") or occurred.isoformat()


def _ingest_events_postgresql(events: Sequence[dict[str, Any]], ids: dict[str, int]) -> int:
    """One statement: insert the events (sent as one JSON array: a single parameter, parsed by PostgreSQL),
    and roll up exactly the inserted ones."""
    source = """
            SELECT e->>0, (e->>1)::bigint, e->>2, e->>3, (e->>4)::timestamptz, (e->>5)::int
            FROM jsonb_array_elements(%s::jsonb) AS e"""
    sql = f"WITH {usage_events_insert_sql(source)} SELECT COUNT(*) FROM ins"  # noqa: S608 - no user text
    payload = json.dumps(
        [
            [
                r["event_id"],
                ids[r["customer"]],
                r["user_id"],
                r["feature"],
                _timestamptz_text(r),
                r["quantity"],
            ]
            for r in events
        ]
    )
    tz = timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload, tz, tz])
        return int(cursor.fetchone()[0])


def _ingest_events_generic(events: Sequence[dict[str, Any]], ids: dict[str, int]) -> int:
    """SQLite (and any database with INSERT … ON CONFLICT … RETURNING): multi-row VALUES in chunks; the
    returned event_ids say which events are new, and only those are added to the rollup."""
    ops = connection.ops
    event_table = ops.quote_name(UsageEvent._meta.db_table)
    daily_table = ops.quote_name(UsageDaily._meta.db_table)
    user_day_table = ops.quote_name(UsageUserDay._meta.db_table)
    by_id = {r["event_id"]: r for r in events}
    inserted: list[str] = []
    with connection.cursor() as cursor:
        for chunk in chunked(events, _rows_per_statement(len(_EVENT_COLUMNS))):
            params: list[Any] = []
            for r in chunk:
                params += (
                    r["event_id"],
                    ids[r["customer"]],
                    r["user_id"],
                    r["feature"],
                    ops.adapt_datetimefield_value(r["occurred_at"]),
                    r["quantity"],
                )
            sql = _insert_values_sql(event_table, _EVENT_COLUMNS, len(chunk))
            cursor.execute(sql + " ON CONFLICT (event_id, occurred_at) DO NOTHING RETURNING event_id", params)
            inserted.extend(row[0] for row in cursor.fetchall())

        tz = timezone.get_current_timezone()
        daily: dict[tuple, list[int]] = {}
        user_days: dict[tuple, int] = {}
        for event_id in inserted:
            r = by_id[event_id]
            key = (ids[r["customer"]], r["occurred_at"].astimezone(tz).date(), r["user_id"], r["feature"])
            acc = daily.setdefault(key, [0, 0])
            acc[0] += 1
            acc[1] += r["quantity"]
            user_days[key[:3]] = user_days.get(key[:3], 0) + 1
        keys = sorted(daily)
        for chunk in chunked(keys, _rows_per_statement(len(_DAILY_COLUMNS))):
            params = []
            for k in chunk:
                params += (k[0], ops.adapt_datefield_value(k[1]), k[2], k[3], daily[k][0], daily[k][1])
            sql = _insert_values_sql(daily_table, _DAILY_COLUMNS, len(chunk))
            cursor.execute(sql + _DAILY_UPSERT.format(t=daily_table), params)
        user_keys = sorted(user_days)
        for chunk in chunked(user_keys, _rows_per_statement(4)):
            params = []
            for k in chunk:
                params += (k[0], ops.adapt_datefield_value(k[1]), k[2], user_days[k])
            sql = _insert_values_sql(user_day_table, ("customer_id", "day", "user_id", "events"), len(chunk))
            cursor.execute(sql + _USER_DAY_UPSERT.format(t=user_day_table), params)
        first_days: dict[int, dt.date] = {}
        for customer_id, day, _user in user_keys:
            first_days[customer_id] = min(day, first_days.get(customer_id, day))
        first_table = ops.quote_name(FirstUtilizationDay._meta.db_table)
        for chunk in chunked(sorted(first_days), _rows_per_statement(2)):
            values = "VALUES " + ",".join(["(%s, %s, 0, NULL, 0, -1)"] * len(chunk))
            params = [v for c in chunk for v in (c, ops.adapt_datefield_value(first_days[c]))]
            cursor.execute(_FIRST_UTILIZATION_MARK.format(t=first_table, days=values), params)
    return len(inserted)


# --- The stored first 10 % utilization day (time to value) ----------------------------------------------

FIRST_UTILIZATION_CHUNK = 5000


def first_utilization_refresh(*, chunk_size: int = FIRST_UTILIZATION_CHUNK) -> int:
    """Bring every customer's FirstUtilizationDay up to date: create the missing rows, then recompute each row
    that is not current (usage arrived that could move it, or the customer's licenses or contract start
    changed since) with the engine's walk (metrics.engagement.usage_value_sql, no as_of bound). Returns how
    many rows were recomputed. Safe to run at any time, twice, or beside ingestion.

    Per chunk, one transaction: lock the rows first (FOR UPDATE), then read usage in a later statement, so
    every ingest that touched them has committed and is seen; an ingest after the lock waits for this
    commit and then checks its days against the new answer (_FIRST_UTILIZATION_MARK)."""
    table = q(FirstUtilizationDay._meta.db_table)
    customers = q(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (customer_id, day, licenses, contract_start, version, computed_version)
                SELECT c.id, NULL, 0, NULL, 0, -1 FROM {customers} c
                WHERE NOT EXISTS (SELECT 1 FROM {table} f WHERE f.customer_id = c.id)
                ON CONFLICT (customer_id) DO NOTHING"""  # noqa: S608
        )
        cursor.execute(
            f"""SELECT f.customer_id FROM {table} f JOIN {customers} c ON c.id = f.customer_id
                WHERE NOT ({first_utilization_current_sql("f", "c")})
                ORDER BY f.customer_id"""  # noqa: S608
        )
        stale = [row[0] for row in cursor.fetchall()]
    walk_sql, walk_params = usage_value_sql(customers="w", as_of=None)
    for chunk in chunked(stale, min(chunk_size, _rows_per_statement(1))):
        marks = placeholders(len(chunk))
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT customer_id FROM {table} WHERE customer_id IN ({marks}) ORDER BY 1 FOR UPDATE",  # noqa: S608
                    list(chunk),
                )
            cursor.execute(
                f"""WITH w AS (
                        SELECT id, licenses, contract_start, (licenses + 9) / 10 AS k
                        FROM {customers} WHERE id IN ({marks})
                    ),
                    {walk_sql}
                    UPDATE {table} SET day = uv.day, licenses = w.licenses, contract_start = w.contract_start,
                                       computed_version = {table}.version
                    FROM w LEFT JOIN usage_value uv ON uv.customer_id = w.id
                    WHERE {table}.customer_id = w.id""",  # noqa: S608
                [*chunk, *walk_params],
            )
    return len(stale)


# --- Milestones -----------------------------------------------------------------------------------


@transaction.atomic
def value_milestone_log(
    *, user: User, customer: Customer, achieved_on: dt.date, note: str = ""
) -> ValueMilestone:
    """Record that a customer reached "first value" (time to value, docs/metrics.md)."""
    if not can_edit_customer(user, customer):
        raise PermissionDenied("You can only log milestones on customers in your book.")
    if achieved_on > timezone.localdate():
        raise ValidationError({"achieved_on": "This date is in the future."})
    return ValueMilestone.objects.create(customer=customer, achieved_on=achieved_on, note=note, author=user)
