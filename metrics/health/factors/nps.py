"""NPS (docs/health.md): account NPS over each contact's latest answer in the last 180 days.

Read through the surveys selector."""

from __future__ import annotations

import datetime as dt
from typing import Any

from surveys.selectors import account_nps_by_customer

from . import Factor, Reading, register

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
        scores = account_nps_by_customer(customer_ids=customer_ids, as_of=day, days=WINDOW_DAYS)
        return {cid: Reading(value=float(v)) for cid, v in scores.items() if v is not None}

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        return "\u2013" if value is None else f"{value:+.0f}"
