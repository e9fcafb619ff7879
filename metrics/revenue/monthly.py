"""Calendar months for the Revenue page's monthly series."""

from __future__ import annotations

import datetime as dt

from core.sql import analytic_transaction

from ..scope import Scope
from .definitions import RevenueMetrics, revenue_metrics
from .rollup import reading_marks_once


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_revenue(*, scope: Scope, last_month: dt.date, months: int = 12) -> list[RevenueMetrics]:
    """Calendar months up to the month of `last_month` (that one up to that day): one query each, from the
    revenue rollup (after one query for its marks) or the ledger."""
    out = []
    # One transaction (and snapshot) for the whole series, on the connection reads use (core/db.py).
    with analytic_transaction(), reading_marks_once():
        for i in range(months - 1, -1, -1):
            first = add_months(month_start(last_month), -i)
            last = min(add_months(first, 1) - dt.timedelta(days=1), last_month)
            out.append(revenue_metrics(scope=scope, start=first, end=last))
    return out
