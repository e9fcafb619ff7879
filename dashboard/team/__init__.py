"""Team performance (issue 7, docs/api.md `metrics/team`): one row per CSM for a period, and the team total.

Every figure is computed in SQL grouped by the customer's CSM (or a task's assignee), so the page costs the
same handful of queries for 3 CSMs or 300. The rows keep their raw sums (cents, counts, days), and the total
row adds those sums — the union of disjoint books — before taking any ratio: a total is never an average of
the rows' ratios.

The metric engine (metrics.revenue, metrics.renewals, metrics.engagement) answers one scope at a time; the
grouped variants here reuse its definitions: revenue is the engine's sums_sql grouped by CSM (or, for a few
books, a walk classifying ledger rows with the engine's MOVEMENT_SQL and in-force conditions), and its ratio
functions (nrr, grr, arr) run on a RevenueTotals built per group. Tests prove each row equals the engine's
figure for that CSM's book.

- money: revenue and renewals grouped by CSM
- activity: time to value and onboarding, book size and fresh pulses, touchpoints, tasks grouped by CSM
- performance: who is on the team, the rows (TeamRow) and team_performance
- table: the table's sorts and labels, and a row as the API and the CSV export write it
"""

from __future__ import annotations

from .activity import PULSE_FRESH_DAYS, books_by_csm, onboarding_by_csm, tasks_by_csm, touchpoints_by_csm
from .money import FEW_CSMS, add_totals, renewals_by_csm, revenue_by_csm
from .performance import DAYS_PER_MONTH, TeamPerformance, TeamRow, team_csms, team_performance
from .table import (
    TEAM_DEFAULT_SORT,
    TEAM_SORT_LABELS,
    TEAM_SORTS,
    row_data,
    sort_choices,
    sort_rows,
    team_csv_columns,
)

__all__ = [
    "DAYS_PER_MONTH",
    "FEW_CSMS",
    "PULSE_FRESH_DAYS",
    "TEAM_DEFAULT_SORT",
    "TEAM_SORTS",
    "TEAM_SORT_LABELS",
    "TeamPerformance",
    "TeamRow",
    "add_totals",
    "books_by_csm",
    "onboarding_by_csm",
    "renewals_by_csm",
    "revenue_by_csm",
    "row_data",
    "sort_choices",
    "sort_rows",
    "tasks_by_csm",
    "team_csms",
    "team_csv_columns",
    "team_performance",
    "touchpoints_by_csm",
]
