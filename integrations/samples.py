"""The CSV samples of docs/samples, downloadable from the Import CSV page with their dates moved to today.

The files in docs/samples keep fixed dates (2024-2026), so a fresh import of them looked broken ("renewal 691
days ago"). A download moves every date of a file by the same number of days, so that its newest date is
today: the rows keep their spacing and order, and read as recent history (docs/samples/README.md).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from django.conf import settings

from .csv_import import KINDS

_DATE = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")


def sample_path(kind: str) -> Path | None:
    """docs/samples/<kind>.csv for a known kind, else None."""
    if kind not in KINDS:
        return None
    path = Path(settings.BASE_DIR) / "docs" / "samples" / f"{kind}.csv"
    return path if path.is_file() else None


def _dates(text: str) -> list[dt.date]:
    return [dt.date(int(y), int(m), int(d)) for y, m, d in _DATE.findall(text)]


def shift_dates(text: str, *, today: dt.date) -> str:
    """`text` with every YYYY-MM-DD moved by the days that bring its newest date to `today`."""
    dates = _dates(text)
    if not dates:
        return text
    shift = today - max(dates)
    return _DATE.sub(lambda m: (dt.date(*map(int, m.groups())) + shift).isoformat(), text)


def sample_csv(kind: str, *, today: dt.date) -> str | None:
    path = sample_path(kind)
    return None if path is None else shift_dates(path.read_text(encoding="utf-8"), today=today)
