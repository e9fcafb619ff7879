"""Calendar quarters as the renewals forecast reads them (docs/renewals.md): "2027-Q1" is Jan 1 - Mar 31 2027.
Unlike the team page's periods, future quarters are allowed: renewals are mostly ahead."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")  # ASCII digits only
MIN_YEAR, MAX_YEAR = 1900, 2100  # docs/api.md#bad-input: dates outside 1900-2100 are refused
QUARTERS_BACK, QUARTERS_AHEAD = 4, 4


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year}"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> dt.date:
        return self.next().start - dt.timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def is_closed(self, today: dt.date) -> bool:
        return self.end < today


def quarter_of(day: dt.date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def parse_quarter(value: str) -> Quarter | None:
    """`YYYY-Qn` with a year in 1900-2099, else None."""
    m = _QUARTER.match((value or "").strip())
    if not m or not MIN_YEAR <= int(m[1]) < MAX_YEAR:
        return None
    return Quarter(int(m[1]), int(m[2]))


def quarter_choices(today: dt.date) -> list[Quarter]:
    """The picker: the 4 quarters before this one, this one and the 4 after it."""
    current = quarter_of(today)
    first = current
    for _ in range(QUARTERS_BACK):
        first = first.previous()
    out = [first]
    for _ in range(QUARTERS_BACK + QUARTERS_AHEAD):
        out.append(out[-1].next())
    return out
