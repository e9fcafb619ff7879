"""NPS (docs/health.md): account NPS over each contact's latest answer in the last 180 days.

Read through the surveys selector."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.sql import day_bounds
from surveys.selectors import account_nps_by_customer, any_answer_between

from . import Factor, Reading, excuse_all, register, source_live

WINDOW_DAYS = 180


@register
class Nps(Factor):
    key = "nps"
    label = "NPS"
    description = "Account NPS over each contact's latest answer, last 180 days"
    default_weight = 15
    default_bad = -100.0
    default_good = 100.0
    window = "last 180 days"

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        if customer_ids and not _answers_in_window(self.key, "nps", day, WINDOW_DAYS):
            return excuse_all(customer_ids, "no NPS answers in the install in the last 180 days")
        scores = account_nps_by_customer(customer_ids=customer_ids, as_of=day, days=WINDOW_DAYS)
        return {cid: Reading(value=float(v)) for cid, v in scores.items() if v is not None}

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        return "\u2013" if value is None else f"{value:+.0f}"


def _answers_in_window(key: str, kind: str, day: dt.date, days: int) -> bool:
    """Whether any customer answered a `kind` survey in the `days` days up to `day` (the source is live)."""
    start, _ = day_bounds(day - dt.timedelta(days=days - 1))
    _, end = day_bounds(day)
    return source_live(key, day, lambda: any_answer_between(kind=kind, since=start, until=end))
