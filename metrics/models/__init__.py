"""Data in for the metric engine (docs/api.md and docs/metrics.md): MRR ledger, usage events and their daily
rollup, support
tickets, renewals, key features and CSM-logged "first value" milestones."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Customer, book_csm_field


class MrrEntry(models.Model):
    """A row of the MRR ledger: from `effective_date` on, the customer pays `mrr` a month (until the next)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="mrr_entries")
    effective_date = models.DateField()
    mrr = models.DecimalField(max_digits=12, decimal_places=2)
    # The row's neighbours, materialised by services.mrr_ledger_relink (a LAG/LEAD window per customer) after
    # every write, so that a period's metrics are one scan of the ledger instead of a window over all of it.
    prev_mrr = models.DecimalField(
        max_digits=12, decimal_places=2, db_default=0, editable=False, help_text="MRR just before this row."
    )
    positive_before = models.BooleanField(db_default=False, editable=False, help_text="Any earlier row > 0.")
    next_date = models.DateField(null=True, blank=True, editable=False, help_text="Date of the next row.")
    prev_date = models.DateField(null=True, blank=True, editable=False, help_text="Date of the previous row.")
    book_csm = book_csm_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer", "effective_date"]
        verbose_name = "MRR ledger entry"
        verbose_name_plural = "MRR ledger"
        constraints = [
            models.UniqueConstraint(fields=["customer", "effective_date"], name="mrr_entry_unique_per_day"),
            models.CheckConstraint(condition=Q(mrr__gte=0), name="mrr_entry_not_negative"),
        ]
        # prev_date: revenue.sums_sql finds the few customers with several rows in a period (their closing
        # row's previous row is in it too) without reading every row of the period.
        indexes = [models.Index(fields=["effective_date"]), models.Index(fields=["prev_date"])]

    def __str__(self) -> str:
        return f"{self.customer} {self.effective_date}: {self.mrr}"


class UsageEvent(models.Model):
    """One product-usage event as pushed by an integration (the raw events; UsageDaily and UsageUserDay are
    the rollups kept forever). (`event_id`, `occurred_at`) makes re-posting harmless.

    On PostgreSQL the table is partitioned by month of `occurred_at` (docs/operations.md#usage-partitions):
    a unique key there must hold the partition key, so an event is identified by its id *and* its time, and
    its primary key is (id, occurred_at) (Django still reads `id` alone as the key; the sequence keeps it
    unique). Raw events older than settings.CSHUB_RAW_EVENT_DAYS are archived (`manage.py
    usage_partitions`)."""

    # Unique via a constraint, not unique=True: on PostgreSQL that would add a second (LIKE) index to
    # maintain on every insert, and ingestion speed is bounded by index maintenance.
    event_id = models.CharField(max_length=200)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="usage_events")
    user_id = models.CharField(max_length=200)
    feature = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "occurred_at"], name="usage_event_unique_id_time"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="usage_event_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.user_id} {self.feature}"


class UsageDaily(models.Model):
    """Per customer, user, feature and day (in TIME_ZONE): events and quantity. Maintained on ingest, only for
    events that were newly inserted, so the 30/60-day windows never scan raw events."""

    # No single-column index: both composite indexes below start with customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="usage_daily", db_index=False
    )
    user_id = models.CharField(max_length=200)
    feature = models.CharField(max_length=100)
    day = models.DateField()
    events = models.PositiveIntegerField(default=0)
    quantity = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "usage daily rollup"
        # One index does both jobs: the upsert's conflict target, and (column order!) a covering index for the
        # engagement queries, which read a (customer, day range) and need only user and feature.
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "day", "user_id", "feature"], name="usage_daily_unique_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.user_id} {self.feature} {self.day}: {self.events}"


class UsageUserDay(models.Model):
    """Per customer, user and day: events. Maintained on ingest beside UsageDaily (same new events), it keeps
    the user-level questions (active users, DAU/MAU, time to value) off the per-feature rows."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    user_id = models.CharField(max_length=200)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "usage user-day rollup"
        constraints = [
            models.UniqueConstraint(fields=["customer", "day", "user_id"], name="usage_user_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.user_id} {self.day}: {self.events}"


class FirstUtilizationDay(models.Model):
    """Per customer: the first day its license utilization reached 10 % (the usage side of time to value,
    docs/metrics.md) as the usage stored so far says: metrics.engagement.first_utilization_day with no as_of
    bound. For any as_of the answer is `day` if day <= as_of, else none: activity on a day depends only on
    the 30 days up to it, so later usage cannot move a day on or before as_of.

    A row is current when computed_version = version and `licenses` / `contract_start` are the customer's:
    only then may a reader use `day` (metrics.engagement.usage_value_sql's walk answers for the others).
    Usage ingestion bumps `version` in the statement that stores the usage when the new days could move the
    answer (a day before `day`, or no answer yet), and locks the row either way; the refresher
    (metrics.services.first_utilization_refresh) locks the rows it recomputes before it reads usage, so a
    refresh never stores an answer that misses committed usage."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    day = models.DateField(null=True)  # none: not reached; meaningless while the row is not current
    licenses = models.PositiveIntegerField(default=0)
    contract_start = models.DateField(null=True)
    version = models.BigIntegerField(default=0)
    computed_version = models.BigIntegerField(default=-1)

    def __str__(self) -> str:
        return f"{self.customer_id} first 10 % utilization {self.day}"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Ticket(models.Model):
    external_id = models.CharField(max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tickets")
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    first_contact_resolution = models.BooleanField(null=True, blank=True)
    category = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("opened_at")),
                name="ticket_resolved_after_opened",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "opened_at"]),
            models.Index(fields=["resolved_at"]),
            models.Index(fields=["opened_at"]),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def resolution_hours(self) -> float | None:
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.opened_at).total_seconds() / 3600


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    RENEWED = "renewed", "Renewed"
    CHURNED = "churned", "Churned"


class ForecastCategory(models.TextChoices):
    """A renewal's forecast category (docs/renewals.md); blank is "not categorised yet"."""

    COMMIT = "commit", "Commit"
    LIKELY = "likely", "Likely"
    AT_RISK = "at_risk", "At risk"
    LOST = "lost", "Lost"


class Renewal(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="renewals")
    due_date = models.DateField()
    arr_due = models.DecimalField(max_digits=14, decimal_places=2)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    renewed_arr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # The forecast (docs/renewals.md): set by the customer's CSM (their manager, an admin).
    # db_default on the forecast columns: raw SQL writers of renewals (benchmarks) need not know them
    category = models.CharField(
        max_length=10, choices=ForecastCategory.choices, blank=True, default="", db_default=""
    )
    expected_arr_override = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Replaces the category's rule."
    )
    forecast_note = models.CharField(max_length=500, blank=True, default="", db_default="")
    # The expected ARR as it stood when the outcome was recorded (the forecast that accuracy is judged by);
    # null while pending. metrics.renewal_rules.freeze_sql writes it.
    closed_expected_arr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    forecast_updated_at = models.DateTimeField(null=True, blank=True)
    book_csm = book_csm_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "due_date"], name="renewal_unique_per_due_date"),
            models.CheckConstraint(condition=Q(arr_due__gte=0), name="renewal_arr_due_not_negative"),
            models.CheckConstraint(
                condition=Q(renewed_arr__isnull=True) | Q(renewed_arr__gte=0),
                name="renewal_renewed_arr_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(expected_arr_override__isnull=True) | Q(expected_arr_override__gte=0),
                name="renewal_expected_arr_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["due_date"]),
            models.Index(fields=["book_csm", "due_date"]),
            # The at-risk rate (metrics.renewal_rules.at_risk_rate) reads only these, on every forecast read.
            models.Index(
                fields=["due_date"],
                condition=Q(category="at_risk", outcome__in=["renewed", "churned"]),
                name="renewal_closed_at_risk",
            ),
            # The "commit while red" flag (metrics.forecast.selectors) joins only these to their customers.
            models.Index(
                fields=["due_date"],
                condition=Q(category="commit", outcome="pending"),
                name="renewal_pending_commit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} renewal {self.due_date}"

    @property
    def is_closed(self) -> bool:
        return self.outcome != Outcome.PENDING


class RenewalForecastSnapshot(models.Model):
    """The forecast of one CSM's renewals due in one quarter, per category, as it stood in one week
    (docs/renewals.md#weekly-snapshots): what forecast accuracy reads to show how the category mix moved week
    by week. Written by metrics.forecast.snapshots.forecast_snapshot_take, one grouped query per week,
    replaced if re-run the same week."""

    taken_on = models.DateField(help_text="The Monday of the week the snapshot belongs to.")
    quarter_start = models.DateField(help_text="First day of the quarter the renewals are due in.")
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.CharField(max_length=10, choices=ForecastCategory.choices, blank=True)
    renewals = models.PositiveIntegerField()
    arr_due = models.DecimalField(max_digits=16, decimal_places=2)
    expected_arr = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["quarter_start", "taken_on"])]

    def __str__(self) -> str:
        return f"{self.taken_on} {self.quarter_start} {self.csm_id} {self.category or '-'}: {self.arr_due}"


class KeyFeature(models.Model):
    """A product feature that counts for adoption (feature breadth, the adoption list)."""

    name = models.CharField(max_length=100, unique=True, help_text="As sent in usage events' `feature`.")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ValueMilestone(models.Model):
    """A CSM's record that the customer reached "first value" (docs/metrics.md time to value)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="value_milestones")
    achieved_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["achieved_on"]
        indexes = [models.Index(fields=["customer", "achieved_on"])]

    def __str__(self) -> str:
        return f"{self.customer} first value {self.achieved_on}"


# The health model's tables, in a module of their own; importing them here registers them with Django.
from .health import (  # noqa: E402,F401
    BAND_RANK,
    BacktestKind,
    Band,
    HealthBacktestJob,
    HealthDayRun,
    HealthFactor,
    HealthModel,
    HealthRecomputeJob,
    HealthSnapshot,
    RecomputeState,
)
from .revenue_rollup import (  # noqa: E402,F401
    PeriodKind,
    RevenueRollupCell,
    RevenueRollupCustomer,
    RevenueRollupMark,
    RevenueRollupState,
)
