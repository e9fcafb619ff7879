"""Writes of the dashboard: the home page's rollup (docs/architecture.md#dashboard-rollups)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.sql import advisory_lock, analytic_transaction, chunked

from .models import HomeRollup, HomeRollupBook, HomeRollupMark
from .selectors.home_rollup import BUILT, book_sums


def home_rollup_refresh(*, day: dt.date | None = None) -> int:
    """Build the home rollup for `day` (today in TIME_ZONE): every book when the day has no rows yet, else the
    books marked changed (HomeRollupMark). Returns how many books it wrote.

    The marks are read first, then the facts, and only the marks read are deleted, all in one transaction: a
    write that commits meanwhile leaves its mark for the next refresh (its book is read from the facts until
    then). Rows of other days are dropped: pages only read today's."""
    day = day or timezone.localdate()
    # JIT off (analytic_transaction): compiling the whole-company sums costs more than running them.
    with advisory_lock("cshub-home-rollup"), transaction.atomic(), analytic_transaction():
        marks = list(HomeRollupMark.objects.values_list("pk", "csm_key"))
        built = HomeRollupBook.objects.filter(day=day, csm_key=BUILT).exists()
        books = None if not built else sorted({book for _pk, book in marks})
        if books == []:
            return 0
        sums = book_sums(day=day, books=books)
        old_bands, old_books = HomeRollup.objects.exclude(day=day), HomeRollupBook.objects.exclude(day=day)
        old_bands.delete()
        old_books.delete()
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
        for chunk in chunked([pk for pk, _book in marks]):
            HomeRollupMark.objects.filter(pk__in=chunk).delete()
    return len(sums)
