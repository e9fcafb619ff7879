"""Who is churned on a day (docs/health.md#who-is-scored): the ledger's churn or the lifecycle stage.

A customer is **churned on day D** when

- the MRR ledger says so: its MRR on D (docs/metrics.md: the `mrr` of the row in force on D) is 0 while an
  earlier row was positive — the row in force on D has `mrr` = 0 and `positive_before`, both materialised by
  services.mrr_ledger_relink, so this is an index lookup per customer and needs no window; or
- its lifecycle stage is `churned`. The stage has no date, so for a past day it counts only when the ledger
  does not date the churn after that day: a customer whose ledger churn (a row taking the MRR from above 0 to
  0) comes after D was still paying on D, and recomputing D must score it (no look-ahead).

A customer whose ledger shows it paying again later (reactivation) is not churned from the day it pays. The
backtest (metrics/health/backtest.py) reads the same ledger facts in Python, row by row.

Expressions over Customer (OuterRef("pk")), so callers keep their one statement per chunk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Exists, Max, OuterRef, Q

from accounts.models import LifecycleStage

from .models import MrrEntry


def in_force_q(day: dt.date) -> Q:
    """The ledger row in force on `day` (metrics.revenue.ledger.in_force_on, as an ORM filter)."""
    return Q(effective_date__lte=day) & (Q(next_date__isnull=True) | Q(next_date__gt=day))


def ledger_churned_on(day: dt.date) -> Exists:
    """Customer expression: the ledger's churn on `day` (MRR 0 on `day` after a positive MRR before)."""
    return Exists(
        MrrEntry.objects.filter(in_force_q(day), customer_id=OuterRef("pk"), mrr=0, positive_before=True)
    )


def churned_on(day: dt.date) -> Q:
    """Customer filter: churned on `day`, by the ledger or by the lifecycle stage (module docstring)."""
    churn_later = MrrEntry.objects.filter(
        customer_id=OuterRef("pk"), effective_date__gt=day, mrr=0, prev_mrr__gt=0
    )
    return Q(ledger_churned_on(day)) | (Q(lifecycle_stage=LifecycleStage.CHURNED) & ~Exists(churn_later))


def churn_dates(*, customer_ids: Sequence[int], day: dt.date) -> dict[int, dt.date]:
    """For those of `customer_ids` churned on `day` by the ledger: the date their MRR went to 0 (the latest
    row up to `day` taking the MRR from above 0 to 0). One query."""
    churned_now = Exists(
        MrrEntry.objects.filter(
            in_force_q(day), customer_id=OuterRef("customer_id"), mrr=0, positive_before=True
        )
    )
    return dict(
        MrrEntry.objects.filter(
            customer_id__in=list(customer_ids), effective_date__lte=day, mrr=0, prev_mrr__gt=0
        )
        .filter(churned_now)
        .values("customer_id")
        .annotate(day=Max("effective_date"))
        .values_list("customer_id", "day")
        .order_by()
    )
