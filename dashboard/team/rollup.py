"""The team page's revenue from its rollup (docs/architecture.md#dashboard-rollups): each book's revenue sums
over a period the page offers, stored by dashboard.services.home_rollup_refresh (dashboard.models.TeamRollup),
for the books unchanged since (no HomeRollupMark), and the facts (money.revenue_by_csm) for the others.

- team_periods: the periods stored for a day — the page's quarters and years, each ending on that day at the
  latest, as team_performance reads them;
- stored_sums / sums_of_totals: a TeamRollup row's values to RevenueTotals and back, in integer cents;
- revenue_for_team: what team_performance reads instead of revenue_by_csm — the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from core.db import reader
from core.sql import in_list
from metrics import revenue
from metrics.revenue import RevenueTotals
from metrics.scope import adapt_date, q

from ..models import HomeRollupMark, TeamRollup
from ..periods import period_choices
from .money import revenue_by_csm

MONEY = ("opening", "closing", "new", "reactivation", "expansion", "contraction", "churn")
COUNTS = ("customers_start", "customers_end", "retained")
COHORT = ("cohort_closing", "cohort_floor")
# TeamRollup's value columns, in the order of revenue.totals_from_cents's money, counts and cohort.
BUILT = -1  # the csm_key of a period's all-zero row that says it was built
COLUMNS = (*(f"{m}_cents" for m in MONEY), *COUNTS, *(f"{c}_cents" for c in COHORT))


def team_periods(day: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The (start, end) the rollup holds on `day`: every period the team page offers that day
    (periods.period_choices), ending on `day` at the latest (team_performance reads up to min(end, today))."""
    return sorted({(p.start, min(p.end, day)) for p in period_choices(day)})


def sums_of_totals(totals: RevenueTotals) -> dict[str, int]:
    """A TeamRollup row's values from RevenueTotals (Decimal dollars with two places → integer cents)."""
    values: dict[str, Any] = {f"{m}_cents": int(getattr(totals, m) * 100) for m in MONEY}
    values.update({c: getattr(totals, c) for c in COUNTS})
    values.update({f"{c}_cents": int(getattr(totals, c) * 100) for c in COHORT})
    return values


def stored_sums(values: Sequence[Any], *, start: dt.date, end: dt.date) -> RevenueTotals:
    """RevenueTotals from a TeamRollup row's COLUMNS (the identity is checked again, to the cent)."""
    return revenue.totals_from_cents(
        start=start,
        end=end,
        money=[int(v) for v in values[:7]],
        counts=values[7:10],
        cohort=[int(v) for v in values[10:12]],
        label="team rollup ",
    )


def revenue_for_team(*, csm_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, RevenueTotals]:
    """money.revenue_by_csm's figures for the books `csm_ids` over [start, end]: one query reads the stored
    rows of the period and the books marked changed since they were built (one statement: one snapshot, so a
    refresh committing meanwhile is seen whole or not at all); the marked books come from the facts (a
    second query). A period the rollup does not hold (not built yet today, or not a period the page offers,
    as an API request may ask) is read from the facts."""
    if not csm_ids:
        return {}
    rollup, marks = q(TeamRollup._meta.db_table), q(HomeRollupMark._meta.db_table)
    books_sql, books_params = in_list("csm_key", [*csm_ids, BUILT])
    marked_sql, marked_params = in_list("csm_key", csm_ids)
    zeros = ", ".join(["0"] * len(COLUMNS))
    sql = f"""
        SELECT csm_key, 0, {", ".join(COLUMNS)} FROM {rollup}
        WHERE {q("start")} = %s AND {q("end")} = %s{books_sql}
        UNION ALL
        SELECT DISTINCT csm_key, 1, {zeros} FROM {marks} WHERE 1 = 1{marked_sql}
    """  # noqa: S608 - table and column names are ours; values are parameters
    with reader().cursor() as cursor:
        cursor.execute(sql, [adapt_date(start), adapt_date(end), *books_params, *marked_params])
        rows = cursor.fetchall()
    stored = {row[0]: row[2:] for row in rows if row[1] == 0}
    if BUILT not in stored:
        return revenue_by_csm(csm_ids=csm_ids, start=start, end=end)
    changed = sorted({row[0] for row in rows if row[1] == 1})
    out = {
        book: stored_sums(values, start=start, end=end)
        for book, values in stored.items()
        if book != BUILT and book not in changed
    }
    if changed:
        out.update(revenue_by_csm(csm_ids=changed, start=start, end=end))
    return out
