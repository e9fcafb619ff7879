"""Who is scored on a day (docs/health.md#who-is-scored): every customer not churned on it.

The rule itself is metrics.churn.churned_on (the ledger's churn, or the lifecycle stage where the ledger does
not date a later churn); this is the population the factors that rank a customer against its peers (relative
usage) compare with, the same the recompute scores.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from accounts.models import Customer

from ..churn import churned_on


def scored_customers(day: dt.date) -> QuerySet[Customer]:
    """The customers scored on `day`: every customer not churned on it."""
    return Customer.objects.filter(~churned_on(day))
