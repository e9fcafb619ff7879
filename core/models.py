"""The outbox: work handed to Celery, recorded in the transaction that wants it (docs/operations.md#outbox).

A row is written with the request's other writes; once the transaction commits the web publishes the task and
deletes the row. When the broker is down or hung the publish fails within ~1 s, the request still answers
success, and the row stays for `core.tasks.outbox_flush` (every minute) to publish when the broker is back.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    task = models.CharField(max_length=200)  # dotted name of a registered Celery task
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
