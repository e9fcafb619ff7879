"""Logging filters named in settings.LOGGING (docs/operations.md#logs)."""

from __future__ import annotations

import logging


class NoTracebackForRefusals(logging.Filter):
    """A refused request (403: a permission the user lacks, a CSRF failure) is the app working as meant:
    Django logs it with the exception's whole traceback, which buries real errors. Keep the one-line
    warning ("Forbidden (Permission denied): /team/") and drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
