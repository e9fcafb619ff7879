"""`manage.py renewal_forecast_snapshot [--date YYYY-MM-DD]`: take the week's snapshot of every renewal's
forecast by hand (docs/renewals.md#weekly-snapshots); beat takes one every Monday. Re-running replaces the
week's rows."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.forecast.snapshots import forecast_snapshot_take, week_of


class Command(BaseCommand):
    help = "Snapshot every renewal's forecast category and expected ARR for this week (or --date's week)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="a day of the week to snapshot, as of that day (default: today)")

    def handle(self, *args, date=None, **options):
        try:
            day = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"{date!r} is not a date (YYYY-MM-DD).") from exc
        rows = forecast_snapshot_take(day=day)
        self.stdout.write(f"Snapshot of the week of {week_of(day).isoformat()}: {rows} renewals.")
