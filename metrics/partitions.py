"""Raw usage events by month, and their retention (docs/operations.md#usage-partitions).

On PostgreSQL `metrics_usageevent` is partitioned by RANGE (occurred_at), one partition per calendar month
in UTC (`metrics_usageevent_pYYYYMM`) plus a DEFAULT partition for any event outside them (a backfill of
an old month, a month not created yet). `usage_partitions_maintain` runs nightly:

1. creates the partitions of this month and the next ones ahead (moving any of their rows out of DEFAULT);
2. archives what is older than settings.CSHUB_RAW_EVENT_DAYS: every monthly partition that lies wholly
   before the horizon is detached, written to `<archive_dir>/<partition>.csv.gz` (when an archive directory
   is given) and dropped; rows of DEFAULT before the horizon are deleted the same way. A partition straddling
   the horizon is kept whole, so PostgreSQL keeps between N and N + 31 days of raw events.

On SQLite (the embedded demo) the table is a plain table and step 2 deletes the rows older than the horizon.
The rollups (UsageDaily, UsageUserDay) are kept forever: nothing here touches them, and no page reads raw
events. An event re-posted after its raw row was archived is no longer recognised as a duplicate (see the
docs); the horizon is therefore also the window in which re-posting is harmless.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.sql import advisory_lock, chunked, day_start, placeholders, set_local_lock_timeout

from .models import UsageEvent

TABLE = UsageEvent._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
MONTHS_AHEAD = 2  # ingestion accepts events at most a day ahead; two months leaves nights to spare
LOCK_TIMEOUT_SECONDS = 10.0  # DDL waits at most this for ingestion's locks, then fails (retried next night)
COLUMNS = ("id", "event_id", "customer_id", "user_id", "feature", "occurred_at", "quantity")


@dataclass
class MaintainResult:
    created: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)  # partitions detached and dropped
    rows_deleted: int = 0  # rows deleted one by one (SQLite, PostgreSQL's DEFAULT partition)
    files: list[Path] = field(default_factory=list)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def _bounds(month: dt.date) -> tuple[str, str]:
    """A month's partition bounds: UTC midnights, as timestamptz literals."""
    return f"{month.isoformat()} 00:00:00+00", f"{next_month(month).isoformat()} 00:00:00+00"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def raw_event_horizon(today: dt.date) -> dt.datetime | None:
    """Raw events before this instant are archived; None when retention is off (CSHUB_RAW_EVENT_DAYS 0)."""
    days = int(settings.CSHUB_RAW_EVENT_DAYS)
    return day_start(today - dt.timedelta(days=days)) if days > 0 else None


def monthly_partitions() -> dict[str, dt.date]:
    """The monthly partitions attached now, by name, with their month."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {n: _month_of(n) for n in names if n != DEFAULT_PARTITION}


def _month_of(name: str) -> dt.date:
    stamp = name.rsplit("_p", 1)[1]
    return dt.date(int(stamp[:4]), int(stamp[4:6]), 1)


def _detached_leftovers() -> list[str]:
    """Monthly tables detached by an archive run that stopped before dropping them (to finish now)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relname ~ %s "
            "AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) ORDER BY 1",
            [f"^{TABLE}_p[0-9]{{6}}$"],
        )
        return [row[0] for row in cursor.fetchall()]


def partition_create(month: dt.date) -> bool:
    """Create the month's partition if missing; rows of that month waiting in DEFAULT move into it (in the
    same transaction, so no reader sees them twice or not at all). True when it was created."""
    name = partition_name(month)
    if name in monthly_partitions():
        return False
    q = connection.ops.quote_name
    lo, hi = _bounds(month)
    with transaction.atomic(), connection.cursor() as cursor:
        set_local_lock_timeout(LOCK_TIMEOUT_SECONDS)
        # Lock DEFAULT first: no event of the month may slip in between the move and the attach.
        cursor.execute(f"LOCK TABLE {q(DEFAULT_PARTITION)} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"CREATE TEMP TABLE usage_moving (LIKE {q(TABLE)}) ON COMMIT DROP")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {q(DEFAULT_PARTITION)} WHERE occurred_at >= %s AND occurred_at < %s "  # noqa: S608
            f"RETURNING *) INSERT INTO usage_moving SELECT * FROM moved",
            [lo, hi],
        )
        cursor.execute(
            f"CREATE TABLE {q(name)} PARTITION OF {q(TABLE)} FOR VALUES FROM (%s) TO (%s)", [lo, hi]
        )
        cursor.execute(f"INSERT INTO {q(TABLE)} SELECT * FROM usage_moving")  # noqa: S608
        cursor.execute("DROP TABLE usage_moving")  # now, in case the caller's transaction goes on
    return True


def _dump(rows_sql: str, path: Path) -> None:
    """COPY a query's rows (COLUMNS, with a header) into a gzip CSV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    copy_sql = f"COPY ({rows_sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
    with gzip.open(tmp, "wb") as out, connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for chunk in copy:
            out.write(chunk)
    tmp.replace(path)  # a file that exists is complete


def _archive_table(name: str, archive_dir: Path | None, result: MaintainResult) -> None:
    """A detached monthly table: to a file (if asked), then dropped."""
    q = connection.ops.quote_name
    if archive_dir is not None:
        path = archive_dir / f"{name}.csv.gz"
        _dump(f"SELECT {','.join(COLUMNS)} FROM {q(name)} ORDER BY occurred_at, id", path)  # noqa: S608
        result.files.append(path)
    with connection.cursor() as cursor:
        # Run any deferred foreign-key checks now: DROP refuses a table with pending trigger events (rows
        # written earlier in a caller's transaction).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP TABLE {q(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    result.archived.append(name)


def _delete_before(
    table: str, horizon: dt.datetime, archive_dir: Path | None, result: MaintainResult
) -> None:
    """Delete `table`'s rows older than the horizon, writing them to a file first when asked. The rows are
    chosen once, by id, so a row that arrives meanwhile is either written and deleted or kept."""
    q = connection.ops.quote_name
    select = f"SELECT {','.join(COLUMNS)} FROM {q(table)} WHERE occurred_at < %s ORDER BY occurred_at, id"  # noqa: S608
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    path = None
    if archive_dir is not None:
        path = archive_dir / f"{table}-before-{horizon.date().isoformat()}-{stamp}.csv.gz"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(select, [horizon])
            rows = cursor.fetchall()
        if not rows:
            return
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "wt", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(COLUMNS)
                writer.writerows(_csv_row(r) for r in rows)
            result.files.append(path)
        with connection.cursor() as cursor:
            for chunk in chunked([r[0] for r in rows]):
                delete = f"DELETE FROM {q(table)} WHERE id IN ({placeholders(len(chunk))})"  # noqa: S608
                cursor.execute(delete, list(chunk))
        result.rows_deleted += len(rows)


def _csv_row(row: tuple) -> list:
    out = list(row)
    occurred = out[5]
    if isinstance(occurred, dt.datetime):
        out[5] = occurred.isoformat()
    return out


def configured_archive_dir() -> Path | None:
    """settings.CSHUB_RAW_EVENT_ARCHIVE_DIR, or None (archive by dropping, without a copy)."""
    value = settings.CSHUB_RAW_EVENT_ARCHIVE_DIR
    return Path(value) if value else None


def usage_partitions_maintain(
    *, today: dt.date, archive_dir: Path | None = None, months_ahead: int = MONTHS_AHEAD
) -> MaintainResult:
    """Create the coming months' partitions and archive raw events past CSHUB_RAW_EVENT_DAYS (the module
    docstring). Safe to run twice, at once (an advisory lock serialises runs), or after a run that stopped
    part way."""
    with advisory_lock("cshub:usage_partitions"):
        return _maintain(today=today, archive_dir=archive_dir, months_ahead=months_ahead)


def _maintain(*, today: dt.date, archive_dir: Path | None, months_ahead: int) -> MaintainResult:
    result = MaintainResult()
    horizon = raw_event_horizon(today)
    if not is_partitioned():
        if horizon is not None:
            _delete_before(TABLE, horizon, archive_dir, result)
        return result

    month = month_start(today)
    for _ in range(months_ahead + 1):
        if partition_create(month):
            result.created.append(partition_name(month))
        month = next_month(month)

    for name in _detached_leftovers():
        _archive_table(name, archive_dir, result)
    if horizon is None:
        return result
    q = connection.ops.quote_name
    horizon_utc = horizon.astimezone(dt.UTC)
    for name, first in sorted(monthly_partitions().items(), key=lambda item: item[1]):
        end = dt.datetime.combine(next_month(first), dt.time.min, tzinfo=dt.UTC)
        if end > horizon_utc:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            set_local_lock_timeout(LOCK_TIMEOUT_SECONDS)
            cursor.execute(f"ALTER TABLE {q(TABLE)} DETACH PARTITION {q(name)}")
        _archive_table(name, archive_dir, result)
    _delete_before(DEFAULT_PARTITION, horizon, archive_dir, result)
    return result
