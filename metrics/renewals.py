"""Renewal metrics over a period (docs/metrics.md "Renewals")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, Q, Sum, When
from django.db.models.functions import Coalesce, Least

from core.numbers import quantize_money, ratio
from core.sql import MONEY_FIELD, ZERO_MONEY

from .models import Outcome, Renewal
from .scope import Scope


@dataclass(frozen=True)
class RenewalMetrics:
    """The `GET /api/v1/metrics/renewals/` answer (docs/api.md). `arr_due` covers every renewal due in the
    period (pending too); the three rates cover only those with an outcome."""

    start: dt.date
    end: dt.date
    renewals_due: int
    renewed: int
    churned: int
    pending: int
    arr_due: Decimal
    logo_renewal_rate: Decimal | None
    gross_renewal_rate: Decimal | None
    net_renewal_rate: Decimal | None


def renewal_metrics(*, scope: Scope, start: dt.date, end: dt.date) -> RenewalMetrics:
    """docs/metrics.md Renewals, over renewals due in [start, end] with an outcome: logo = renewed ÷ (renewed
    +
    churned); gross = Σ min(renewed_arr, arr_due) ÷ Σ arr_due; net = Σ renewed_arr ÷ Σ arr_due. A renewed
    renewal without renewed_arr renewed flat (renewed_arr = arr_due); a churned one renewed nothing."""
    renewals = Renewal.objects.filter(due_date__gte=start, due_date__lte=end)
    if not scope.is_company:
        renewals = renewals.filter(customer__in=scope.customers().values("pk"))
    decided = Q(outcome__in=[Outcome.RENEWED, Outcome.CHURNED])
    renewed_arr = Case(
        When(outcome=Outcome.RENEWED, then=Coalesce(F("renewed_arr"), F("arr_due"))),
        default=ZERO_MONEY,
        output_field=MONEY_FIELD,
    )
    row = renewals.aggregate(
        due=Count("pk"),
        renewed=Count("pk", filter=Q(outcome=Outcome.RENEWED)),
        churned=Count("pk", filter=Q(outcome=Outcome.CHURNED)),
        pending=Count("pk", filter=Q(outcome=Outcome.PENDING)),
        due_total=Sum("arr_due"),
        decided_due=Sum("arr_due", filter=decided),
        gross=Sum(Least(renewed_arr, F("arr_due"), output_field=MONEY_FIELD), filter=decided),
        net=Sum(renewed_arr, filter=decided),
    )
    # SQLite answers SUM over decimals as float: quantize_money rounds back to cents (inputs have 2 places).
    decided_due = quantize_money(row["decided_due"])
    decided_count = row["renewed"] + row["churned"]
    return RenewalMetrics(
        start=start,
        end=end,
        renewals_due=row["due"],
        renewed=row["renewed"],
        churned=row["churned"],
        pending=row["pending"],
        arr_due=quantize_money(row["due_total"]),
        logo_renewal_rate=ratio(row["renewed"], decided_count),
        gross_renewal_rate=ratio(quantize_money(row["gross"]), decided_due),
        net_renewal_rate=ratio(quantize_money(row["net"]), decided_due),
    )
