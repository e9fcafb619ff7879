"""`manage.py run_scheduler`: the embedded scheduler of `make demo` (docs/operations.md#the-demo-is-alive).

It is Celery's own beat (celery.beat.Service) running the project's normal beat schedule (cshub/celery.py), so
every job anyone adds there runs in the demo too, with an in-memory schedule and one change: with no broker
(no REDIS_URL), tasks run eagerly, so beat's "send" runs each job right here, in this process. That is the
embedded worker: no Redis, no result backend (the nightly chord runs inline), only the database the web
process uses. With REDIS_URL set it is a plain beat that publishes to the broker.

On start, the jobs that would have run in the last `--catch-up` minutes run at once (the every-minute, 5- and
15-minute jobs): a demo started a moment ago is already alive.

`--list` prints the schedule; `--run NAME` runs one job of it (by its schedule name, e.g.
`playbooks-evaluate-fast`) now, in this process, and exits: how to run any scheduled job by hand.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import beat, current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

log = logging.getLogger(__name__)


class EmbeddedScheduler(beat.Scheduler):
    """The beat schedule in memory (no schedule file), every entry last run `catch_up` ago."""

    catch_up = dt.timedelta(minutes=16)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        started = self.app.now() - self.catch_up
        for entry in self.schedule.values():
            entry.last_run_at = started


class Command(BaseCommand):
    help = "Run the beat schedule in this process (the demo's embedded scheduler and worker; no Redis)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--catch-up",
            type=int,
            default=16,
            help="minutes back: jobs that would have run since then run at start (default 16)",
        )
        parser.add_argument(
            "--max-interval", type=float, default=30.0, help="seconds between schedule checks at most"
        )
        parser.add_argument("--list", action="store_true", help="print the schedule and exit")
        parser.add_argument("--run", metavar="NAME", help="run this job of the schedule now, here, and exit")

    def handle(self, *args, catch_up: int, max_interval: float, **options):
        app = current_app
        app.autodiscover_tasks(force=True)  # every app's tasks module: beat runs the registered task
        schedule = app.conf.beat_schedule
        if options["list"]:
            for name, entry in sorted(schedule.items()):
                self.stdout.write(f"{name}: {entry['task']} ({entry['schedule']})")
            return
        if options["run"]:
            if options["run"] not in schedule:
                raise CommandError(f"No job {options['run']!r} in the schedule; --list shows them.")
            entry = schedule[options["run"]]
            result = app.tasks[entry["task"]].apply(
                entry.get("args", ()), entry.get("kwargs", {}), throw=True
            )
            self.stdout.write(f"{options['run']} ({entry['task']}): {result.result}")
            return
        eager = settings.CELERY_TASK_ALWAYS_EAGER
        app.conf.task_always_eager = eager
        self.stdout.write(
            f"Scheduler: {len(app.conf.beat_schedule)} jobs of the beat schedule, "
            + ("run here (no broker: eager tasks)" if eager else "sent to the broker")
        )
        for name, entry in sorted(app.conf.beat_schedule.items()):
            self.stdout.write(f"  {name}: {entry['task']} ({entry['schedule']})")
        self.stdout.flush()
        scheduler = type("Scheduler", (EmbeddedScheduler,), {"catch_up": dt.timedelta(minutes=catch_up)})
        beat.Service(app, max_interval=max_interval, scheduler_cls=scheduler).start()
