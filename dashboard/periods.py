"""The periods the team page offers: calendar quarters ("2026-Q3") and years ("2026")."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")  # ASCII digits: \d would take "٢٠٢٦" too
_YEAR = re.compile(r"^([0-9]{4})$")
QUARTERS_OFFERED = 8
YEARS_OFFERED = 3


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: dt.date
    end: dt.date


def quarter(year: int, number: int) -> Period:
    start = dt.date(year, 3 * number - 2, 1)
    end = (dt.date(year + (number == 4), (3 * number) % 12 + 1, 1)) - dt.timedelta(days=1)
    return Period(f"{year}-Q{number}", f"Q{number} {year}", start, end)


def year(value: int) -> Period:
    return Period(str(value), str(value), dt.date(value, 1, 1), dt.date(value, 12, 31))


def current_quarter(today: dt.date) -> Period:
    return quarter(today.year, (today.month - 1) // 3 + 1)


def parse_period(value: str, *, today: dt.date) -> Period | None:
    """A key of `period_choices` (quarters and years up to today's), else None."""
    value = (value or "").strip()
    if m := _QUARTER.match(value):
        number, q = int(m[1]), int(m[2])
    elif m := _YEAR.match(value):
        number, q = int(m[1]), None
    else:
        return None
    if not 2000 <= number <= today.year:  # checked before building: 9999-Q4 would end in year 10000
        return None
    period = year(number) if q is None else quarter(number, q)
    return period if period.start <= today else None


def period_choices(today: dt.date) -> list[Period]:
    """This quarter and the 7 before it, then this year and the 2 before it."""
    current = current_quarter(today)
    y, n = current.start.year, (current.start.month - 1) // 3 + 1
    quarters = []
    for _ in range(QUARTERS_OFFERED):
        quarters.append(quarter(y, n))
        y, n = (y, n - 1) if n > 1 else (y - 1, 4)
    return quarters + [year(today.year - i) for i in range(YEARS_OFFERED)]
