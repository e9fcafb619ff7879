"""`python manage.py refresh_first_utilization`: what the 15-minute beat job does, by hand or from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from metrics.services import first_utilization_refresh


class Command(BaseCommand):
    help = (
        "Recompute the stored first 10 % utilization days (time to value) that new usage or a change of "
        "licenses or contract start made stale. Safe to run at any time."
    )

    def handle(self, *args, **options) -> None:
        n = first_utilization_refresh()
        self.stdout.write(self.style.SUCCESS(f"Recomputed {n} customer(s)' first 10 % utilization day."))
