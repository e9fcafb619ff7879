"""Writes of integrations: the CSV import as a background job (docs/operations.md#csv-import).

The page stores the uploaded file in an ImportJob and queues integrations.tasks.import_job_run through the
outbox, in one transaction, and answers at once with the job's page. The task streams the file through
csv_import (one transaction: all rows or none) and reports rows validated and written as it goes.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.visibility import can_ingest

from .csv_import import csv_import
from .enqueue import import_job_send_on_commit
from .models import ImportJob, ImportState

log = logging.getLogger(__name__)

# Largest upload the page takes: 200,000 MRR rows are ~5 MB, 200,000 usage events ~20 MB.
IMPORT_MAX_BYTES = 100 * 1024 * 1024
# A job "running" longer than its task's hard time limit (9 minutes) has lost its worker; the broker hands
# the task to another worker after visibility_timeout (10 minutes, settings), which then takes the job over.
RUN_LEASE = dt.timedelta(seconds=570)


def import_job_create(*, user: User, kind: str, file: IO[bytes], filename: str = "") -> ImportJob:
    """Store an uploaded file as an import job and queue it; the job runs once this transaction commits."""
    if not can_ingest(user):
        raise PermissionDenied("Only admins can import data.")
    data = file.read()
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            filename=filename[:255],
            size=len(data),
            data=data,
            rows_expected=max(0, lines - 1),
            requested_by=user,
        )
        import_job_send_on_commit(job_id=job.pk)
    return job


@contextmanager
def _progress_writer(job_id: int) -> Iterator[Callable[[int, int], None] | None]:
    """On PostgreSQL, a second connection that records progress while the import's own transaction is still
    open (its writes would be invisible until it commits). SQLite allows one writer: no progress there."""
    if connection.vendor != "postgresql":
        yield None
        return
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    table = side.ops.quote_name(ImportJob._meta.db_table)

    def write(validated: int, written: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET rows_validated = %s, rows_written = %s WHERE id = %s",  # noqa: S608
                [validated, written, job_id],
            )

    try:
        yield write
    finally:
        side.close()


def import_job_run(*, job_id: int) -> str:
    """Claim the job and import its file; safe to run twice (a claimed or finished job is left alone, and an
    import that died part way wrote nothing, so running it again is exact)."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(
        Q(state=ImportState.QUEUED) | Q(state=ImportState.RUNNING, started_at__lt=now - RUN_LEASE), pk=job_id
    ).update(state=ImportState.RUNNING, started_at=now, rows_validated=0, rows_written=0)
    if not claimed:
        return "skipped"
    job = ImportJob.objects.get(pk=job_id)
    try:
        with _progress_writer(job_id) as progress:
            result = csv_import(kind=job.kind, file=io.BytesIO(bytes(job.data)), progress=progress)
    except Exception as exc:  # the transaction was rolled back: say so on the job's page, and fail loudly
        import_job_give_up(
            job_id=job_id,
            message=f"The import stopped on an error ({exc.__class__.__name__}); nothing was written."
            " Try again.",
        )
        raise
    ImportJob.objects.filter(pk=job_id).update(
        state=ImportState.DONE if result.ok else ImportState.FAILED,
        rows_validated=result.rows,
        rows_written=result.rows if result.ok else 0,
        counts=result.counts,
        errors=[e.as_dict() for e in result.errors],
        error_count=result.error_count,
        finished_at=timezone.now(),
        data=b"",
    )
    return "done" if result.ok else "failed"


def import_job_give_up(*, job_id: int, message: str) -> None:
    """The task ran out of time: the job failed as a whole (its transaction was rolled back)."""
    ImportJob.objects.filter(pk=job_id).update(
        state=ImportState.FAILED,
        errors=[{"row": 1, "field": "non_field_errors", "message": message}],
        error_count=1,
        rows_written=0,
        finished_at=timezone.now(),
        data=b"",
    )
