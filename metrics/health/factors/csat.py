"""CSAT (docs/health.md): % satisfied answers (4-5) in the last 90 days (surveys' selector)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from surveys.selectors import csat_by_customer

from . import Factor, Reading, excuse_all, register
from .nps import _answers_in_window

WINDOW_DAYS = 90


@register
class Csat(Factor):
    key = "csat"
    label = "CSAT"
    description = "% satisfied answers (4-5 of 5), last 90 days"
    default_weight = 5
    default_bad = 0.0
    default_good = 100.0
    window = "last 90 days"

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        if customer_ids and not _answers_in_window(self.key, "csat", day, WINDOW_DAYS):
            return excuse_all(customer_ids, "no CSAT answers in the install in the last 90 days")
        scores = csat_by_customer(customer_ids=customer_ids, as_of=day, days=WINDOW_DAYS)
        return {cid: Reading(value=float(v)) for cid, v in scores.items() if v is not None}

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        return "\u2013" if value is None else f"{value:.0f} %"
