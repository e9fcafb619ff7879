"""`manage.py evaluate_triggers [--fast | --nightly] [--date YYYY-MM-DD]`: start playbooks whose triggers
hold, reconcile assignees with the customers' CSMs."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from playbooks.evaluation import triggers_evaluate


class Command(BaseCommand):
    help = "Evaluate playbook triggers now (default: every condition, for today) and reconcile assignees."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--fast", action="store_true", help="only the fast signals (survey answers, new customers)"
        )
        group.add_argument(
            "--nightly", action="store_true", help="only the nightly conditions (health, usage…)"
        )
        parser.add_argument("--date", help="evaluate as of this day (health snapshots of that day)")

    def handle(self, *args, fast: bool, nightly: bool, date: str | None, **options):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"{date!r} is not a date (YYYY-MM-DD).") from exc
        speed = "fast" if fast else "nightly" if nightly else "all"
        result = triggers_evaluate(speed=speed, today=today)
        for label, count in sorted(result.started.items()):
            self.stdout.write(f"  {label}: {count} started")
        self.stdout.write(
            f"{result.total_started} runs started ({result.matched} matches), "
            f"{result.reassigned} reassigned, "
            f"{result.autocompleted} tasks auto-completed in {result.seconds:.1f}s"
        )
