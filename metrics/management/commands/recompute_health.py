"""`manage.py recompute_health [--date YYYY-MM-DD | --from D --to D]`: health snapshots without Celery.

A range is computed day after day in date order, so each day's hysteresis sees the day before it."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.health.services import CHUNK_SIZE, days_between, health_model_current, health_recompute


class Command(BaseCommand):
    help = "Recompute customer health snapshots for a day (default today) or a range of days (backfill)."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_date, help="the day to compute (default: today in TIME_ZONE)")
        parser.add_argument("--from", dest="start", type=_date, help="first day of a range (with --to)")
        parser.add_argument("--to", dest="end", type=_date, help="last day of a range (with --from)")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="customers per transaction")

    def handle(self, *args, date, start, end, chunk_size, **options):
        if date and (start or end):
            raise CommandError("Use either --date or --from/--to, not both.")
        if bool(start) != bool(end):
            raise CommandError("--from and --to go together.")
        if start and end < start:
            raise CommandError("--to must not be before --from.")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        days = list(days_between(start, end)) if start else [date or timezone.localdate()]
        model = health_model_current()
        for day in days:
            started = time.monotonic()
            count = health_recompute(
                day=day,
                chunk_size=chunk_size,
                model=model,
                on_wait=lambda day=day: self.stdout.write(
                    f"{day}: another recompute of this day is running; waiting for it to finish",
                ),
            )
            self.stdout.write(
                f"{day}: {count} snapshots (model v{model.version}) in {time.monotonic() - started:.1f}s"
            )


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc
