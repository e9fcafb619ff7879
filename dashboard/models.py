"""The home page's rollup (docs/architecture.md#dashboard-rollups): per day and CSM, the sums the home page
adds up, rebuilt by dashboard.services.home_rollup_refresh from the facts; HomeRollupMark says which CSMs'
rows the facts have changed since (written by database triggers in the transaction of every write)."""

from __future__ import annotations

from django.db import models


class HomeRollup(models.Model):
    """For one day and one book (`csm_key`: the customers' CSM id, 0 for customers without one) and one health
    band: the sums behind the home page's bands, renewal windows and at-risk ARR 30 days earlier. Money in
    integer cents."""

    day = models.DateField()
    csm_key = models.IntegerField()
    band = models.CharField(max_length=10, blank=True)
    # Customers not churned whose current band (Customer.health_band) is `band`, and their MRR on `day`.
    customers = models.IntegerField(default=0)
    mrr_cents = models.BigIntegerField(default=0)
    # Of them, renewing in [day, day + 90] / [day, day + 180] (home_page.RENEWAL_WINDOWS), and their MRR.
    renewing_90 = models.IntegerField(default=0)
    renewing_90_cents = models.BigIntegerField(default=0)
    renewing_180 = models.IntegerField(default=0)
    renewing_180_cents = models.BigIntegerField(default=0)
    # Snapshots of day - 30 in band `band` (every customer, churned or not), and the MRR on that day.
    before = models.IntegerField(default=0)
    before_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "csm_key", "band"], name="home_rollup_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} CSM {self.csm_key} {self.band or 'no band'}"


class HomeRollupBook(models.Model):
    """For one day and one book: the trailing year's cohort sums (metrics.revenue.Cohort) in integer cents.
    The all-zero row of book -1 (home_rollup.BUILT) says the rollup was built for that day."""

    day = models.DateField()
    csm_key = models.IntegerField()
    opening_cents = models.BigIntegerField(default=0)
    customers_start = models.IntegerField(default=0)
    retained = models.IntegerField(default=0)
    cohort_closing_cents = models.BigIntegerField(default=0)
    cohort_floor_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "csm_key"], name="home_rollup_book_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} CSM {self.csm_key}"


class HomeRollupMark(models.Model):
    """A book whose facts changed since its rollup rows were built: inserted (never updated, so concurrent
    writers never wait on each other) by the triggers of dashboard/migrations/0001_home_rollup.py; deleted
    by the refresh that rebuilt the book from facts it read after seeing the mark."""

    id = models.BigAutoField(primary_key=True)
    csm_key = models.IntegerField(db_index=True)

    def __str__(self) -> str:
        return f"CSM {self.csm_key} changed"


class TeamRollup(models.Model):
    """For one team-page period [start, end] (a quarter or year the page offers, `end` cut to the day it was
    built on) and one book (`csm_key`, a CSM id): the revenue sums of metrics.revenue.RevenueTotals, money in
    integer cents. The all-zero row of book -1 (team.rollup.BUILT) says the period was built. Rebuilt with the
    home rollup (dashboard.services.home_rollup_refresh) for the books HomeRollupMark marks."""

    start = models.DateField()
    end = models.DateField()
    csm_key = models.IntegerField()
    opening_cents = models.BigIntegerField(default=0)
    closing_cents = models.BigIntegerField(default=0)
    new_cents = models.BigIntegerField(default=0)
    reactivation_cents = models.BigIntegerField(default=0)
    expansion_cents = models.BigIntegerField(default=0)
    contraction_cents = models.BigIntegerField(default=0)
    churn_cents = models.BigIntegerField(default=0)
    customers_start = models.IntegerField(default=0)
    customers_end = models.IntegerField(default=0)
    retained = models.IntegerField(default=0)
    cohort_closing_cents = models.BigIntegerField(default=0)
    cohort_floor_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["start", "end", "csm_key"], name="team_rollup_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.start}..{self.end} CSM {self.csm_key}"
