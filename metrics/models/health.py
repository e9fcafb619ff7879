"""The health model (docs/health.md): versioned configuration and one snapshot per customer and day.

A HealthModel row is one version. It is never updated once created: editing the model creates the next
version (services.health_model_create), so every snapshot keeps pointing at the exact weights, anchors and
thresholds that produced it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import Customer


class Band(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red"


BAND_RANK = {Band.RED: 0, Band.YELLOW: 1, Band.GREEN: 2}


class HealthModelQuerySet(models.QuerySet["HealthModel"]):
    def current(self) -> HealthModel:
        """The version in force: the highest one (the default model is version 1, from a data migration)."""
        return self.prefetch_related("factors").order_by("-version").first()


class HealthModel(models.Model):
    version = models.PositiveIntegerField(unique=True)
    note = models.CharField(max_length=300, blank=True, help_text="Why this version exists.")
    green_threshold = models.DecimalField(max_digits=4, decimal_places=1, default=70)
    yellow_threshold = models.DecimalField(max_digits=4, decimal_places=1, default=40)
    hysteresis_margin = models.DecimalField(
        max_digits=4, decimal_places=1, default=3, validators=[MinValueValidator(0)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HealthModelQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=Q(green_threshold__gt=models.F("yellow_threshold")),
                name="health_model_green_above_yellow",
            ),
            models.CheckConstraint(
                condition=Q(hysteresis_margin__gte=0), name="health_model_margin_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Health model v{self.version}"


class HealthFactor(models.Model):
    """One factor of one model version: `key` names a module of metrics/health/factors/, or one feature's
    usage as `feature:<name>` (docs/health.md#usage-of-one-feature)."""

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="factors")
    key = models.CharField(max_length=120)
    weight = models.DecimalField(max_digits=6, decimal_places=2, validators=[MinValueValidator(0)])
    bad = models.FloatField(help_text="Raw value worth 0 points.")
    good = models.FloatField(help_text="Raw value worth 100 points (linear and clamped in between).")
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["model", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["model", "key"], name="health_factor_unique_per_model"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="health_factor_weight_positive"),
            models.CheckConstraint(condition=~Q(bad=models.F("good")), name="health_factor_anchors_differ"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.weight}) in v{self.model.version}"


class HealthSnapshot(models.Model):
    """A customer's health on a day. `components` is the explanation: a list of
    {factor, raw_value, score, weight, contribution, as_of, detail} (weight after rescaling to the present
    factors; missing factors appear with raw_value null and weight 0)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="health_snapshots")
    date = models.DateField()
    score = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, help_text="Null: not enough data."
    )
    band = models.CharField(max_length=10, choices=Band.choices, blank=True)
    model = models.ForeignKey(HealthModel, on_delete=models.PROTECT, related_name="snapshots")
    components = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "date"], name="health_snapshot_unique_per_day"),
        ]
        indexes = [models.Index(fields=["date", "customer"], name="health_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.customer} {self.date}: {self.score} {self.band}"


class RecomputeState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class HealthRecomputeJob(models.Model):
    """An admin's recompute of a range of days (`POST /api/v1/health/recompute/`), run in the background by
    metrics.tasks.health_recompute_job one day after the other, as `recompute_health --from --to` does. Its
    state is a row, not a cache entry, so it survives restarts of the web and worker processes; `days_done`
    is also what a redelivered task resumes from."""

    start = models.DateField()
    end = models.DateField()
    state = models.CharField(max_length=10, choices=RecomputeState.choices, default=RecomputeState.QUEUED)
    days_total = models.PositiveIntegerField()
    days_done = models.PositiveIntegerField(default=0)
    snapshots = models.PositiveIntegerField(default=0, help_text="Snapshots written so far.")
    model = models.ForeignKey(
        HealthModel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version in force when the job started; every day of the job uses it.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="health_job_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(days_done__lte=models.F("days_total")), name="health_job_progress_bounded"
            ),
        ]

    def __str__(self) -> str:
        return f"Health recompute {self.start}..{self.end}: {self.state} {self.days_done}/{self.days_total}"


class BacktestKind(models.TextChoices):
    BACKTEST = "backtest", "Backtest"
    FIT = "fit", "Fit"


class HealthBacktestJob(models.Model):
    """A backtest (docs/health.md#backtest) or a fit (docs/health.md#fitting) run in the background for the
    backtest page, the model page and `GET /api/v1/health/backtest/`. `result` is the report as JSON
    (`BacktestReport.as_dict()` or `FitResult.as_dict()`) once `state` is done.

    `attempt` is the claim of the task copy that works on the job: a redelivered copy takes the next number,
    and only the copy holding the latest one may write progress or the result (docs/style.md "Tasks")."""

    kind = models.CharField(max_length=10, choices=BacktestKind.choices, default=BacktestKind.BACKTEST)
    start = models.DateField()
    end = models.DateField()
    model = models.ForeignKey(
        HealthModel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The version backtested (a fit: the version in force it was fitted against). Null: "
        "`proposal`, an unsaved configuration.",
    )
    proposal = models.JSONField(null=True, blank=True, help_text="An unsaved configuration to backtest.")
    horizons = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=RecomputeState.choices, default=RecomputeState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="0 until the task knows the size of the work.")
    attempt = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="The task's last sign of life.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="health_backtest_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")), name="health_backtest_progress_bounded"
            ),
            # One job at work per question: concurrent requests for the same backtest share it.
            models.UniqueConstraint(
                fields=["kind", "start", "end", "model"],
                condition=Q(state__in=["queued", "running"], proposal__isnull=True),
                name="health_backtest_one_active",
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind", "model", "start", "end", "-finished_at"], name="health_backtest_find"
            )
        ]

    def __str__(self) -> str:
        return f"Health {self.kind} {self.start}..{self.end}: {self.state} {self.done}/{self.total}"

    @property
    def running(self) -> bool:
        return self.state in (RecomputeState.QUEUED, RecomputeState.RUNNING)

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.total) if self.total else None


class HealthDayRun(models.Model):
    """How far a day's nightly work got (docs/operations.md#catch-up): recompute dispatched, every chunk
    written, the after-recompute hooks (trigger evaluation) done. The catch-up check every 15 minutes
    finishes a day that stopped part way (beat could not send it, a worker died with chunks in flight)."""

    day = models.DateField(unique=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    recomputed_at = models.DateTimeField(null=True, blank=True)
    hooks_sent_at = models.DateTimeField(null=True, blank=True)
    hooks_done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"health day {self.day}"
