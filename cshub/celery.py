"""The Celery app. Workers: `celery -A cshub worker`; the schedule: `celery -A cshub beat`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cshub.settings")

app = Celery("cshub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One line per job, with when and why. Later issues add the nightly health recompute (02:00 TIME_ZONE)
# and the trigger evaluation.
app.conf.beat_schedule = {}
