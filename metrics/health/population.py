"""Who is scored on a day (docs/health.md "Who is scored"): customers paying or onboarding, not churned.

One small public rule, so the recompute's `scored_ids` and the factors that rank against the population
(relative usage) can share it.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Customer, LifecycleStage

from ..models import MrrEntry


def churned_on(day: dt.date) -> Q:
    """Customers churned on `day`, as one condition on Customer: lifecycle stage `churned`, or an MRR on `day`
    of 0 after having been positive (the ledger's churn: the ledger row in force on `day` has mrr 0 and an
    earlier row was above 0). Never paid and no ledger at all (onboarding) is not churned."""
    ledger_churn = MrrEntry.objects.filter(
        Q(next_date__isnull=True) | Q(next_date__gt=day),
        customer=OuterRef("pk"),
        effective_date__lte=day,
        mrr=0,
        positive_before=True,
    )
    return Q(lifecycle_stage=LifecycleStage.CHURNED) | Q(Exists(ledger_churn))


def scored_customers(day: dt.date) -> QuerySet[Customer]:
    """The customers scored on `day`: every customer not churned on it."""
    return Customer.objects.filter(~churned_on(day))
