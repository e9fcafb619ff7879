"""Every late-acknowledged task ends (its hard time limit) before the broker hands it to another worker
(docs/operations.md#failure-rules: the visibility timeout, 10 minutes); otherwise a task still running would
be delivered twice."""

from __future__ import annotations

from django.conf import settings

from cshub.celery import app


def test_every_late_acked_task_has_a_hard_limit_below_the_visibility_timeout():
    app.loader.import_default_modules()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert len(ours) > 10
    late = {name: task for name, task in ours.items() if task.acks_late}
    assert late
    default = app.conf.task_time_limit  # a task without its own limit has the worker's (settings)
    assert default is not None
    assert default < visibility
    limits = {name: task.time_limit or default for name, task in late.items()}
    too_long = {name: limit for name, limit in limits.items() if limit >= visibility}
    assert not too_long, f"hard time limits at or past the visibility timeout ({visibility} s): {too_long}"
