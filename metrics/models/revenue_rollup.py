"""The revenue rollup (docs/metrics.md#revenue-rollup): per customer and calendar month, quarter and year in
which the customer has ledger rows, its opening and closing MRR and movements; their sums per CSM and segment;
and the marks of the customers whose ledger changed since (written by database triggers in the transaction of
every write). Built by metrics.revenue.rollup.revenue_rollup_refresh; money in integer cents."""

from __future__ import annotations

from django.db import models


class PeriodKind(models.IntegerChoices):
    MONTH = 1, "month"
    QUARTER = 3, "quarter"
    YEAR = 12, "year"


class RevenueRollupCustomer(models.Model):
    """One customer's figures over one calendar period (`kind` months from `period_start`) in which it has
    ledger rows: its MRR on the day before the period (`open_cents`) and on its last day (`close_cents`), the
    five movements of its rows dated in the period; `csm_key` (its CSM id, 0 for none) and `segment` as they
    were when the row was built (the cell of RevenueRollupCell the row is added to)."""

    customer_id = models.BigIntegerField()
    kind = models.SmallIntegerField(choices=PeriodKind.choices)
    period_start = models.DateField()
    csm_key = models.BigIntegerField()
    segment = models.CharField(max_length=50, blank=True)
    open_cents = models.BigIntegerField()
    close_cents = models.BigIntegerField()
    new_cents = models.BigIntegerField()
    reactivation_cents = models.BigIntegerField()
    expansion_cents = models.BigIntegerField()
    contraction_cents = models.BigIntegerField()
    churn_cents = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "kind", "period_start"], name="revenue_rollup_customer_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} {self.kind} months from {self.period_start}"


class RevenueRollupCell(models.Model):
    """The sums of RevenueRollupCustomer's rows of one cell (CSM, segment) and period: Σ(closing - opening)
    and Σ([closing > 0] - [opening > 0]) (the months' add up to the MRR and paying customers on a month end),
    the movements, and the cohort sums of the customers with rows in the period (docs/metrics.md#revenue):
    Σ opening, |S|, |S ∩ E|, Σ_S closing, Σ_S min(closing, opening)."""

    csm_key = models.BigIntegerField()
    segment = models.CharField(max_length=50, blank=True)
    kind = models.SmallIntegerField(choices=PeriodKind.choices)
    period_start = models.DateField()
    delta_cents = models.BigIntegerField(default=0)
    delta_paying = models.BigIntegerField(default=0)
    new_cents = models.BigIntegerField(default=0)
    reactivation_cents = models.BigIntegerField(default=0)
    expansion_cents = models.BigIntegerField(default=0)
    contraction_cents = models.BigIntegerField(default=0)
    churn_cents = models.BigIntegerField(default=0)
    changed_open_cents = models.BigIntegerField(default=0)
    changed_start = models.BigIntegerField(default=0)
    changed_retained = models.BigIntegerField(default=0)
    changed_closing_cents = models.BigIntegerField(default=0)
    changed_floor_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["csm_key", "segment", "kind", "period_start"], name="revenue_rollup_cell_unique_key"
            ),
        ]
        indexes = [models.Index(fields=["kind", "period_start"])]

    def __str__(self) -> str:
        return (
            f"CSM {self.csm_key} {self.segment or 'no segment'} {self.kind} months from {self.period_start}"
        )


class RevenueRollupMark(models.Model):
    """A customer whose ledger rows, CSM or segment changed since its rollup rows were built."""

    id = models.BigAutoField(primary_key=True)
    customer_id = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"customer {self.customer_id} changed"


class RevenueRollupState(models.Model):
    """One row once the rollup is built (every customer); without it readers use the ledger."""

    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"built {self.built_at:%Y-%m-%d %H:%M}"
