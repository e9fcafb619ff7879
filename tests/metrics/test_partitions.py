"""Raw usage events: monthly partitions on PostgreSQL, retention (CSHUB_RAW_EVENT_DAYS) and the archive
command on both databases (metrics/partitions.py, docs/operations.md#usage-partitions)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from cshub.celery import app
from metrics import partitions
from metrics.models import UsageDaily, UsageEvent, UsageUserDay
from metrics.services import usage_events_ingest
from metrics.tasks import usage_partitions_maintain
from tests.factories import CustomerFactory
from tests.requirements import require_postgres

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def at(days_ago: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(12)))


def ingest(customer, *pairs: tuple[str, int]) -> dict[str, int]:
    rows = [
        {
            "event_id": event_id,
            "customer": customer.external_id,
            "user_id": "u1",
            "feature": "reports",
            "occurred_at": at(days_ago),
            "quantity": 2,
        }
        for event_id, days_ago in pairs
    ]
    return usage_events_ingest(rows=rows)


def rollup_totals() -> tuple[int, int, int]:
    daily = UsageDaily.objects.aggregate(e=Sum("events"), q=Sum("quantity"))
    return daily["e"] or 0, daily["q"] or 0, UsageUserDay.objects.aggregate(e=Sum("events"))["e"] or 0


def archived_ids(files) -> set[str]:
    ids = set()
    for path in files:
        with gzip.open(path, "rt") as f:
            rows = list(csv.reader(f))
        assert rows[0] == list(partitions.COLUMNS)
        ids |= {r[1] for r in rows[1:]}
    return ids


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("usage_partitions", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def customer(db):
    return CustomerFactory(external_id="P-1")


# --- Both databases ---------------------------------------------------------------------------------


def test_retention_archives_old_raw_events_to_files_and_keeps_the_rollups(settings, customer, tmp_path):
    settings.CSHUB_RAW_EVENT_DAYS = 60
    ingest(customer, ("old-1", 400), ("old-2", 200), ("old-3", 100), ("new-1", 5), ("new-2", 0))
    before = rollup_totals()
    assert before == (5, 10, 5)

    output = run_command("--archive-dir", str(tmp_path))

    assert set(UsageEvent.objects.values_list("event_id", flat=True)) == {"new-1", "new-2"}
    assert rollup_totals() == before  # rollups are kept forever
    files = sorted(tmp_path.iterdir())
    assert archived_ids(files) == {"old-1", "old-2", "old-3"}
    assert "Usage partitions are up to date." in output


def test_retention_without_an_archive_directory_drops_the_old_events(settings, customer, tmp_path):
    settings.CSHUB_RAW_EVENT_DAYS = 60
    settings.CSHUB_RAW_EVENT_ARCHIVE_DIR = ""
    ingest(customer, ("old-1", 300), ("new-1", 1))
    run_command()
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["new-1"]
    assert rollup_totals() == (2, 4, 2)


def test_the_archive_directory_setting_is_used_by_the_beat_task(settings, customer, tmp_path):
    settings.CSHUB_RAW_EVENT_DAYS = 30
    settings.CSHUB_RAW_EVENT_ARCHIVE_DIR = str(tmp_path / "raw")
    ingest(customer, ("old-1", 200), ("new-1", 1))
    result = usage_partitions_maintain.delay().get()
    assert result["archived"] + result["deleted"] >= 1
    assert archived_ids((tmp_path / "raw").iterdir()) == {"old-1"}
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["new-1"]


def test_the_task_is_in_the_beat_schedule():
    entries = {e["task"] for e in app.conf.beat_schedule.values()}
    assert "metrics.tasks.usage_partitions_maintain" in entries


def test_no_retention_keeps_every_raw_event(settings, customer, tmp_path):
    settings.CSHUB_RAW_EVENT_DAYS = 0
    ingest(customer, ("old-1", 3000), ("new-1", 1))
    run_command("--archive-dir", str(tmp_path))
    assert UsageEvent.objects.count() == 2
    assert list(tmp_path.iterdir()) == []


def test_archiving_twice_changes_nothing_more(settings, customer, tmp_path):
    settings.CSHUB_RAW_EVENT_DAYS = 60
    ingest(customer, ("old-1", 200), ("new-1", 1))
    run_command("--archive-dir", str(tmp_path / "a"))
    second = partitions.usage_partitions_maintain(today=TODAY, archive_dir=tmp_path / "b")
    assert (second.created, second.archived, second.rows_deleted, second.files) == ([], [], 0, [])
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["new-1"]


def test_an_event_is_a_duplicate_by_its_id_and_time(customer):
    assert ingest(customer, ("e-1", 3)) == {"accepted": 1, "duplicates": 0}
    assert ingest(customer, ("e-1", 3)) == {"accepted": 0, "duplicates": 1}
    # The same id at another time is another event (a partitioned table's unique key holds the time).
    assert ingest(customer, ("e-1", 2)) == {"accepted": 1, "duplicates": 0}
    assert rollup_totals() == (2, 4, 2)


def test_a_negative_months_ahead_is_refused(customer):
    with pytest.raises(SystemExit):
        call_command("usage_partitions", "--months-ahead", "-1", stderr=StringIO())


# --- PostgreSQL: the partitions themselves ----------------------------------------------------------


@pytest.mark.services
def test_the_table_is_partitioned_by_month_with_this_month_and_two_ahead(customer):
    require_postgres()
    assert partitions.is_partitioned()
    result = partitions.usage_partitions_maintain(today=TODAY)
    month = partitions.month_start(TODAY)
    expected = {month, partitions.next_month(month), partitions.next_month(partitions.next_month(month))}
    assert expected <= set(partitions.monthly_partitions().values())
    assert set(result.created) <= {partitions.partition_name(m) for m in expected}
    ingest(customer, ("now-1", 0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM metrics_usageevent WHERE event_id = 'now-1'")
        assert cursor.fetchone()[0] == partitions.partition_name(
            partitions.month_start(at(0).astimezone(dt.UTC).date())
        )


@pytest.mark.services
def test_a_month_created_late_takes_its_events_from_the_default_partition(customer):
    require_postgres()
    ingest(customer, ("back-1", 200), ("back-2", 200))
    month = partitions.month_start(at(200).astimezone(dt.UTC).date())
    name = partitions.partition_name(month)
    assert name not in partitions.monthly_partitions()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT_PARTITION}")  # noqa: S608
        assert cursor.fetchone()[0] == 2

    assert partitions.partition_create(month)
    assert not partitions.partition_create(month)  # twice: nothing to do

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT_PARTITION}")  # noqa: S608
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608
        assert cursor.fetchone()[0] == 2
    # The idempotency key still holds across the move: a re-post is a duplicate.
    assert ingest(customer, ("back-1", 200)) == {"accepted": 0, "duplicates": 1}


@pytest.mark.services
def test_old_months_are_detached_written_and_dropped(settings, customer, tmp_path):
    require_postgres()
    settings.CSHUB_RAW_EVENT_DAYS = 60
    ingest(customer, ("old-1", 200), ("old-2", 201), ("new-1", 1))
    old_month = partitions.month_start(at(200).astimezone(dt.UTC).date())
    partitions.partition_create(old_month)
    old_name = partitions.partition_name(old_month)

    result = partitions.usage_partitions_maintain(today=TODAY, archive_dir=tmp_path)

    assert old_name in result.archived
    assert old_name not in partitions.monthly_partitions()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [old_name])
        assert cursor.fetchone()[0] is None  # dropped, not only detached
    assert (tmp_path / f"{old_name}.csv.gz") in result.files
    assert archived_ids([tmp_path / f"{old_name}.csv.gz"]) == {"old-1", "old-2"}
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["new-1"]


@pytest.mark.services
def test_a_month_detached_by_a_run_that_stopped_is_archived_by_the_next(customer, tmp_path, settings):
    require_postgres()
    settings.CSHUB_RAW_EVENT_DAYS = 0  # retention off: the leftover is still finished
    ingest(customer, ("old-1", 300))
    month = partitions.month_start(at(300).astimezone(dt.UTC).date())
    partitions.partition_create(month)
    name = partitions.partition_name(month)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE metrics_usageevent DETACH PARTITION {name}")

    result = partitions.usage_partitions_maintain(today=TODAY, archive_dir=tmp_path)

    assert result.archived == [name]
    assert archived_ids(result.files) == {"old-1"}


@pytest.mark.services
def test_a_partition_straddling_the_horizon_is_kept_whole(settings, customer):
    require_postgres()
    settings.CSHUB_RAW_EVENT_DAYS = 10
    today = dt.date(2026, 12, 20)
    horizon = partitions.raw_event_horizon(today)
    early = dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC)  # before the horizon, in the horizon's month
    assert early < horizon
    UsageEvent.objects.create(
        event_id="edge", customer=customer, user_id="u", feature="f", occurred_at=early, quantity=1
    )
    result = partitions.usage_partitions_maintain(today=today)
    assert partitions.partition_name(dt.date(2026, 12, 1)) not in result.archived
    assert UsageEvent.objects.filter(event_id="edge").exists()
