"""`python manage.py usage_partitions`: what the nightly beat job does (docs/operations.md#usage-partitions),
by hand or from cron: create the coming months' usage partitions, archive raw events past the retention."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone

from metrics.partitions import MONTHS_AHEAD, configured_archive_dir, usage_partitions_maintain


class Command(BaseCommand):
    help = (
        "Create this month's and the next months' raw usage partitions (PostgreSQL) and archive raw usage "
        "events older than CSHUB_RAW_EVENT_DAYS: whole old partitions are detached, written to the archive "
        "directory as gzip CSV (if one is set) and dropped; on SQLite old rows are deleted. The daily "
        "rollups are kept. Safe to run at any time."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--archive-dir",
            type=Path,
            help="Write archived events here (default: CSHUB_RAW_EVENT_ARCHIVE_DIR; none: drop, no copy).",
        )
        parser.add_argument(
            "--months-ahead", type=int, default=MONTHS_AHEAD, help="Partitions to create after this month."
        )

    def handle(self, *args, **options) -> None:
        if options["months_ahead"] < 0:
            self.stderr.write("--months-ahead must be 0 or more.")
            raise SystemExit(2)
        result = usage_partitions_maintain(
            today=timezone.localdate(),
            archive_dir=options["archive_dir"] or configured_archive_dir(),
            months_ahead=options["months_ahead"],
        )
        self.stdout.write(f"Created {len(result.created)} partition(s): {', '.join(result.created) or '-'}")
        self.stdout.write(
            f"Archived {len(result.archived)} partition(s): {', '.join(result.archived) or '-'}"
        )
        self.stdout.write(f"Deleted {result.rows_deleted} older raw event row(s) one by one.")
        for path in result.files:
            self.stdout.write(f"Wrote {path}")
        self.stdout.write(self.style.SUCCESS("Usage partitions are up to date."))
