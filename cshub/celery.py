"""The Celery app. Workers: `celery -A cshub worker`; the schedule: `celery -A cshub beat`."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cshub.settings")

app = Celery("cshub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One line per job, with when and why (docs/operations.md lists them with how to run each by hand). The
# nightly recompute's finish hook runs the nightly trigger evaluation.
app.conf.beat_schedule = {
    # Nightly at 02:00 TIME_ZONE: every customer's health for the day that just ended (docs/health.md),
    # fanned out.
    "health-recompute-nightly": {"task": "metrics.tasks.health_recompute_nightly", "schedule": crontab(0, 2)},
    # Every minute: the live recompute of dirty customers (docs/health.md#live-data). Writes queue it
    # themselves a few seconds after committing; this sweep catches what a down broker or cache lost.
    "health-live-sweep": {"task": "metrics.tasks.health_recompute_live", "schedule": crontab()},
    # Every 5 minutes: fast playbook signals (new survey answers, new customers) + assignee reconciliation.
    "playbooks-evaluate-fast": {"task": "playbooks.tasks.evaluate_fast", "schedule": crontab(minute="*/5")},
    # Daily at 07:00 TIME_ZONE: one digest email per user who chose the digest for new playbook runs.
    "playbooks-digests": {"task": "playbooks.tasks.digests_send", "schedule": crontab(0, 7)},
    # Daily at 07:05 TIME_ZONE: the notification digest for users who chose it (docs/workspace.md).
    "notifications-digest": {"task": "accounts.tasks.notifications_digest", "schedule": crontab(5, 7)},
    # Nightly at 03:30 TIME_ZONE (after the recompute): the coming months' usage partitions, and raw events
    # past CSHUB_RAW_EVENT_DAYS archived (docs/operations.md#usage-partitions).
    "usage-partitions": {"task": "metrics.tasks.usage_partitions_maintain", "schedule": crontab(30, 3)},
    # Nightly at 03:45 TIME_ZONE: tracking-API calls that waited past CSHUB_SEGMENT_PENDING_DAYS for their
    # customer are deleted (docs/integrations.md#segment-spec-tracking-api).
    "segment-pending-expire": {
        "task": "integrations.tasks.segment_pending_expire",
        "schedule": crontab(45, 3),
    },
    # Every 15 minutes: stored first 10 % utilization days made stale by new usage (team time to value).
    "first-utilization-refresh": {
        "task": "metrics.tasks.first_utilization_refresh",
        "schedule": crontab(minute="*/15"),
    },
    # Every minute: today's home rollup for the books whose facts changed, all of them on a day's first run
    # (docs/architecture.md#dashboard-rollups); the page reads a changed book's facts until then.
    "home-rollup-refresh": {"task": "dashboard.tasks.home_rollup_refresh_task", "schedule": crontab()},
    # Every minute: the revenue rollup of the customers whose ledger, CSM or segment changed (every customer
    # on its first run); readers take a changed customer from the ledger until then (docs/metrics.md).
    "revenue-rollup-refresh": {"task": "metrics.tasks.revenue_rollup_refresh_task", "schedule": crontab()},
    # Every minute: tasks whose publish after commit failed (broker down or hung) leave the outbox.
    "outbox-flush": {"task": "core.tasks.outbox_flush", "schedule": crontab(minute="*")},
    # Every 15 minutes: finish last night's recompute or trigger evaluation if it stopped part way.
    "health-catch-up": {"task": "metrics.tasks.health_catch_up", "schedule": crontab(minute="*/15")},
    # Every minute: outbound webhook deliveries and Slack messages whose next retry is due (24 h of backoff,
    # docs/integrations.md#retries).
    "outbound-retry-due": {"task": "integrations.tasks.outbound_retry_due", "schedule": crontab(minute="*")},
    # Mondays at 03:00 TIME_ZONE: the week's snapshot of every renewal's forecast category and expected ARR,
    # so forecast accuracy can show how the mix moved week by week (docs/renewals.md#weekly-snapshots).
    "renewal-forecast-snapshot": {
        "task": "metrics.tasks.renewal_forecast_snapshot",
        "schedule": crontab(0, 3, day_of_week=1),
    },
    # Every 15 minutes: survey invitations whose send task was lost (broker down, retries spent) go out.
    "surveys-requeue": {
        "task": "surveys.tasks.invitations_requeue_stale",
        "schedule": crontab(minute="*/15"),
    },
}


@task_prerun.connect
@task_postrun.connect
def connections_checked(task=None, **_kwargs) -> None:
    """Around each task, Django's rule for a web request: a connection past CONN_MAX_AGE or broken is
    closed, and the next use of the others is health-checked (CONN_HEALTH_CHECKS). Celery's Django fixup
    would close every connection around every task instead (CELERY_DB_REUSE_MAX in settings makes it do so
    only every so many tasks): a new PostgreSQL backend per task, whose start and cold catalog caches cost
    more than a live recompute batch's own queries (docs/operations.md#live-data). Tasks run inline (tests,
    the demo) are left alone, as the fixup does: they run inside their caller's transaction."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
