"""`manage.py seed_demo [--customers N] [--seed S]`: build (or repair) the demo company.

Calls `<app>.demo.seed(ctx)` for every project app in INSTALLED_APPS order, each in its own transaction. See
accounts/demo/__init__.py for the rules (deterministic, idempotent) every part follows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import importlib.util
import random
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, DemoContext, book_sizes
from accounts.dirty import live_recompute_deferred


def demo_modules() -> list[tuple[str, object]]:
    """(app label, module) of each project app that has a `demo` module, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        # Only the project's own apps (packages beside manage.py), never a third-party `demo` module.
        if Path(config.path).parent != Path(settings.BASE_DIR):
            continue
        name = f"{config.name}.demo"
        if importlib.util.find_spec(name) is not None:
            found.append((config.label, importlib.import_module(name)))
    return found


class Command(BaseCommand):
    help = "Create the demo company (deterministic, safe to run again: it only adds what is missing)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300, help="number of customers (default 300)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--today", type=dt.date.fromisoformat, default=None, help="pretend today is YYYY-MM-DD (tests)"
        )

    def handle(self, *args, customers: int, seed: int, today: dt.date | None, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        base = DemoContext(
            rng=random.Random(seed),
            today=today or timezone.localdate(),
            customers=customers,
            stdout=self.stdout,
            seed=seed,
        )
        started = time.monotonic()
        for label, module in demo_modules():
            seeder = getattr(module, "seed", None)
            if not callable(seeder):
                continue
            # Each app draws from its own generator: adding an app never changes another app's data.
            ctx = dataclasses.replace(base, rng=random.Random(f"{seed}:{label}"))
            part_started = time.monotonic()
            self.stdout.write(f"{label}:")
            # The seed settles today's health itself; a live recompute queued by its writes would evaluate
            # today's triggers before the playbooks part replays the history (docs/health.md#live-data).
            with live_recompute_deferred(), transaction.atomic():
                seeder(ctx)
            self.stdout.write(f"  done in {time.monotonic() - part_started:.1f}s")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f}s."))
        self._print_logins(base)

    def _print_logins(self, ctx: DemoContext) -> None:
        sizes = book_sizes()
        self.stdout.write("")
        self.stdout.write(f'Demo logins (password "{DEMO_PASSWORD}") at {settings.SITE_URL}/login/')
        for role, email, description in ctx.logins:
            book = f", {sizes[email]} customers" if email in sizes else ""
            self.stdout.write(f"  {role:8} {email:28} {description}{book}")
