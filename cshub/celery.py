"""The Celery app. Workers: `celery -A cshub worker`; the schedule: `celery -A cshub beat`."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cshub.settings")

app = Celery("cshub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One line per job, with when and why. Later issues add the nightly health recompute (02:00 TIME_ZONE)
# and the trigger evaluation.
app.conf.beat_schedule = {
    # Nightly at 02:00 TIME_ZONE: every customer's health for the day that just ended (DESIGN §6), fanned out.
    "health-recompute-nightly": {"task": "metrics.tasks.health_recompute_nightly", "schedule": crontab(0, 2)},
}
