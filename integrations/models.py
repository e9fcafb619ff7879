"""Background CSV imports from the /imports/ page (docs/operations.md#csv-import)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Imported"
    FAILED = "failed", "Nothing written"


class ImportJob(models.Model):
    """One uploaded file and what became of it. The file is kept in the database until the job ends, so any
    worker on any machine can read it; then it is emptied (the counts or errors stay)."""

    kind = models.CharField(max_length=30)
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField(default=b"")
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    rows_expected = models.PositiveIntegerField(default=0, help_text="Lines of the file after the header.")
    rows_validated = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)  # [{row, field, message}], the first 1,000
    error_count = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.kind}, {self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)

    @property
    def percent(self) -> int:
        """Progress for the bar: validation and writing go chunk by chunk together."""
        if self.finished:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, round(100 * self.rows_validated / self.rows_expected))
