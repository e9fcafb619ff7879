"""The team table's shape: its ?sort= keys and labels, sorting the rows, and a row as the API answers it and
the CSV export writes it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from operator import itemgetter
from typing import Any

from core.numbers import api_rate, quantize_money
from metrics import revenue

from .performance import TeamRow

# ?sort= keys of the team table: column key → row attribute.
TEAM_SORTS: dict[str, str] = {
    "csm": "csm_name",
    "book": "book_size",
    "arr": "arr",
    "nrr": "nrr",
    "grr": "grr",
    "logo": "logo_renewal_rate",
    "gross": "gross_renewal_rate",
    "net": "net_renewal_rate",
    "expansion": "expansion_mrr",
    "ttv": "avg_time_to_value_days",
    "onboard": "avg_days_to_onboard",
    "touch": "touchpoints_per_customer_month",
    "advocacy": "advocacy_touchpoints",
    "pulse": "fresh_pulse_share",
    "ontime": "tasks_on_time_rate",
    "overdue": "overdue_tasks",
}
TEAM_DEFAULT_SORT = "csm"
# The columns' names, for the "Sort by" control (on a phone the stacked table has no header to click).
TEAM_SORT_LABELS: dict[str, str] = {
    "csm": "CSM",
    "book": "Book size",
    "arr": "ARR",
    "nrr": "NRR",
    "grr": "GRR",
    "logo": "Logo renewal rate",
    "gross": "Gross renewal rate",
    "net": "Net renewal rate",
    "expansion": "Expansion MRR",
    "ttv": "Time to value",
    "onboard": "Days to onboard",
    "touch": "Touches per customer per month",
    "advocacy": "Advocacy touchpoints",
    "pulse": "Fresh pulse share",
    "ontime": "Tasks on time",
    "overdue": "Overdue tasks",
}


def sort_choices() -> list[tuple[str, str]]:
    """(?sort= value, label) for every column both ways; the CSM name reads A to Z, figures lowest/highest."""
    choices = []
    for key, label in TEAM_SORT_LABELS.items():
        if key == "csm":
            choices += [(key, f"{label}, A to Z"), (f"-{key}", f"{label}, Z to A")]
        else:
            choices += [(f"-{key}", f"{label}, highest first"), (key, f"{label}, lowest first")]
    return choices


def sort_rows(rows: list[TeamRow], sort: str) -> list[TeamRow]:
    """Sort by a TEAM_SORTS key ("-key" descending); empty values (null rates) always last."""
    key = sort.lstrip("-")
    attr = TEAM_SORTS.get(key, TEAM_SORTS[TEAM_DEFAULT_SORT])
    descending = sort.startswith("-")

    def value(row: TeamRow) -> Any:
        if attr == "csm_name":
            return row.csm.get_full_name().lower() if row.csm else ""
        return getattr(row, attr)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=value, reverse=descending)
    return present + missing


def _days(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 1))


def row_data(row: TeamRow) -> dict[str, Any]:
    """A row as the API answers it and the CSV export writes it (the same keys, in this order)."""
    return {
        "csm_id": row.csm.pk if row.csm else None,
        "csm_email": row.csm.email if row.csm else None,
        "csm_name": row.csm.get_full_name() if row.csm else "TOTAL",
        "book_size": row.book_size,
        "arr": str(quantize_money(row.arr)),
        "nrr": api_rate(row.nrr),
        "grr": api_rate(row.grr),
        "renewals_due": row.renewals_due,
        "logo_renewal_rate": api_rate(row.logo_renewal_rate),
        "gross_renewal_rate": api_rate(row.gross_renewal_rate),
        "net_renewal_rate": api_rate(row.net_renewal_rate),
        "expansion_mrr": str(quantize_money(row.expansion_mrr)),
        "customers_started": row.started,
        "avg_time_to_value_days": _days(row.avg_time_to_value_days),
        "avg_days_to_onboard": _days(row.avg_days_to_onboard),
        "touchpoints": row.touchpoints,
        "touchpoints_per_customer_month": api_rate(row.touchpoints_per_customer_month),
        "advocacy_touchpoints": row.advocacy_touchpoints,
        "fresh_pulse_share": api_rate(row.fresh_pulse_share),
        "tasks_on_time": row.tasks_on_time,
        "tasks_late": row.tasks_late,
        "tasks_overdue": row.tasks_overdue,
        "tasks_on_time_rate": api_rate(row.tasks_on_time_rate),
        "open_tasks": row.open_tasks,
        "overdue_tasks": row.overdue_tasks,
    }


def team_csv_columns() -> list[tuple[str, Any]]:
    """CSV columns over row_data() dicts: one per key."""
    keys = list(
        row_data(
            TeamRow(
                csm=None,
                revenue=revenue.totals_from_cents(
                    start=dt.date.min, end=dt.date.min, money=[0] * 7, counts=[0] * 3, cohort=[0] * 2
                ),
                days=1,
            )
        )
    )
    return [(key, itemgetter(key)) for key in keys]
