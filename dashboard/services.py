"""Writes of the dashboard: the home and team pages' rollups (docs/architecture.md#dashboard-rollups)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.sql import advisory_lock, analytic_transaction, chunked

from .models import HomeRollup, HomeRollupBook, HomeRollupMark, TeamRollup
from .selectors.home_rollup import BUILT, book_sums
from .team import revenue_by_csm
from .team.rollup import BUILT as TEAM_BUILT
from .team.rollup import sums_of_totals, team_periods


def home_rollup_refresh(*, day: dt.date | None = None) -> int:
    """Build the home rollup for `day` (today in TIME_ZONE): every book when the day has no rows yet, else the
    books marked changed (HomeRollupMark); and the team rollup (TeamRollup) of the periods the team page
    offers that day the same way (every book of a period not built yet). Returns how many books it wrote
    for the home rollup.

    The marks are read first, then the facts, and only the marks read are deleted, all in one transaction: a
    write that commits meanwhile leaves its mark for the next refresh (its book is read from the facts until
    then). Rows of other days (home) and other periods (team) are dropped: pages only read today's."""
    day = day or timezone.localdate()
    # JIT off (analytic_transaction): compiling the whole-company sums costs more than running them.
    with advisory_lock("cshub-home-rollup"), transaction.atomic(), analytic_transaction():
        marks = list(HomeRollupMark.objects.values_list("pk", "csm_key"))
        changed = sorted({book for _pk, book in marks})
        written = _home_rollup_build(day=day, changed=changed)
        _team_rollup_build(day=day, changed=changed)
        for chunk in chunked([pk for pk, _book in marks]):
            HomeRollupMark.objects.filter(pk__in=chunk).delete()
    return written


def _home_rollup_build(*, day: dt.date, changed: list[int]) -> int:
    """The home rollup's rows of `day`: every book if the day is not built, else the `changed` ones."""
    built = HomeRollupBook.objects.filter(day=day, csm_key=BUILT).exists()
    books = None if not built else changed
    if books == []:
        return 0
    sums = book_sums(day=day, books=books)
    HomeRollup.objects.exclude(day=day).delete()
    HomeRollupBook.objects.exclude(day=day).delete()
    if books is not None:
        HomeRollup.objects.filter(day=day, csm_key__in=books).delete()
        HomeRollupBook.objects.filter(day=day, csm_key__in=books).delete()
    HomeRollup.objects.bulk_create(
        HomeRollup(day=day, csm_key=book, band=band, **values)
        for book, book_sum in sums.items()
        for band, values in book_sum.bands.items()
    )
    HomeRollupBook.objects.bulk_create(
        HomeRollupBook(day=day, csm_key=book, **book_sum.cohort) for book, book_sum in sums.items()
    )
    if not built:
        HomeRollupBook.objects.create(day=day, csm_key=BUILT)  # all zero: says the day is built
    return len(sums)


def _team_rollup_build(*, day: dt.date, changed: list[int]) -> None:
    """The team rollup's rows of the periods of `day` (team_rollup.team_periods): every CSM's book for a
    period not built yet, else the `changed` CSMs' books (book 0, no CSM, is not on the team page)."""
    periods = team_periods(day)
    built = set(TeamRollup.objects.filter(csm_key=TEAM_BUILT).values_list("start", "end"))
    for start, end in built - set(periods):
        TeamRollup.objects.filter(start=start, end=end).delete()
    books = [book for book in changed if book > 0]
    for start, end in periods:
        if (start, end) in built and not books:
            continue
        ids = books if (start, end) in built else None  # None: every book
        sums = revenue_by_csm(csm_ids=ids, start=start, end=end)
        stale = TeamRollup.objects.filter(start=start, end=end)
        (stale if ids is None else stale.filter(csm_key__in=ids)).delete()
        TeamRollup.objects.bulk_create(
            TeamRollup(start=start, end=end, csm_key=book, **sums_of_totals(totals))
            for book, totals in sums.items()
        )
        if ids is None:
            TeamRollup.objects.create(start=start, end=end, csm_key=TEAM_BUILT)  # all zero: says it is built
