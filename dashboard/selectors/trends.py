"""Portfolio trends: the band mix by month, NRR/GRR by month and the renewals funnel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, Least

from core.numbers import quantize_money
from core.sql import MONEY_FIELD
from metrics import revenue
from metrics.models import HealthSnapshot, Outcome, Renewal
from metrics.revenue import RevenueTotals

from .portfolio import Portfolio
from .revenue_retention import RetentionRates, portfolio_revenue, trailing_year


def month_ends(today: dt.date, months: int = 12) -> list[dt.date]:
    """The last day of each of the `months` - 1 previous months, then today."""
    days = []
    first = today.replace(day=1)
    for _ in range(months - 1):
        first_prev = revenue.add_months(first, -1)
        days.append(first - dt.timedelta(days=1))
        first = first_prev
    return [*reversed(days), today]


@dataclass(frozen=True)
class BandMonth:
    day: dt.date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def red(self) -> int:
        return self.counts.get("red", 0)

    @property
    def yellow(self) -> int:
        return self.counts.get("yellow", 0)

    @property
    def green(self) -> int:
        return self.counts.get("green", 0)

    @property
    def no_score(self) -> int:
        return self.counts.get("", 0)


def band_mix_by_month(*, portfolio: Portfolio, today: dt.date, months: int = 12) -> list[BandMonth]:
    """Customers per band in the snapshots of each month's last day (and today), one grouped query.
    A day without snapshots shows no counts."""
    days = month_ends(today, months)
    snapshots = HealthSnapshot.objects.filter(date__in=days)
    if portfolio.csm_ids is not None:
        snapshots = snapshots.filter(customer__csm_id__in=portfolio.csm_ids)
    counts: dict[dt.date, dict[str, int]] = {d: {} for d in days}
    for day, band, n in snapshots.values_list("date", "band").annotate(n=Count("pk")).order_by():
        counts[day][band or ""] = n
    return [BandMonth(day=d, counts=counts[d]) for d in days]


@dataclass(frozen=True)
class RetentionMonth(RetentionRates):
    month: dt.date
    totals: RevenueTotals


def retention_by_month(*, portfolio: Portfolio, today: dt.date, months: int = 12) -> list[RetentionMonth]:
    """NRR and GRR of each calendar month up to today's (that one to date), as the Revenue page's trend (from
    the revenue rollup, its marks read once, when it can answer)."""
    out = []
    with revenue.reading_marks_once():
        for i in range(months - 1, -1, -1):
            first = revenue.add_months(revenue.month_start(today), -i)
            last = min(revenue.add_months(first, 1) - dt.timedelta(days=1), today)
            out.append(RetentionMonth(first, portfolio_revenue(portfolio=portfolio, start=first, end=last)))
    return out


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str
    count: int
    arr: Decimal
    help: str


def renewals_funnel(*, portfolio: Portfolio, today: dt.date) -> tuple[list[FunnelStage], dt.date, dt.date]:
    """Renewals (metrics.Renewal) due in the trailing 12 months: due → decided → renewed → renewed without
    losing ARR, with churned and pending beside them (docs/metrics.md "Renewals"), one query."""
    start, end = trailing_year(today)
    renewals = Renewal.objects.filter(due_date__gte=start, due_date__lte=end)
    if portfolio.csm_ids is not None:
        renewals = renewals.filter(customer__csm_id__in=portfolio.csm_ids)
    renewed = Q(outcome=Outcome.RENEWED)
    kept = renewed & (Q(renewed_arr__isnull=True) | Q(renewed_arr__gte=F("arr_due")))
    decided = Q(outcome__in=[Outcome.RENEWED, Outcome.CHURNED])
    row = renewals.aggregate(
        due=Count("pk"),
        due_arr=Sum("arr_due"),
        decided=Count("pk", filter=decided),
        decided_arr=Sum("arr_due", filter=decided),
        renewed=Count("pk", filter=renewed),
        renewed_total=Sum(Coalesce("renewed_arr", "arr_due", output_field=MONEY_FIELD), filter=renewed),
        kept=Count("pk", filter=kept),
        kept_arr=Sum(
            Least(Coalesce("renewed_arr", "arr_due", output_field=MONEY_FIELD), "arr_due"), filter=kept
        ),
        churned=Count("pk", filter=Q(outcome=Outcome.CHURNED)),
        churned_arr=Sum("arr_due", filter=Q(outcome=Outcome.CHURNED)),
        pending=Count("pk", filter=Q(outcome=Outcome.PENDING)),
        pending_arr=Sum("arr_due", filter=Q(outcome=Outcome.PENDING)),
    )
    stages = [
        FunnelStage(
            "due", "Due", row["due"], quantize_money(row["due_arr"]), "Renewals due in the period (ARR due)."
        ),
        FunnelStage(
            "decided",
            "Decided",
            row["decided"],
            quantize_money(row["decided_arr"]),
            "Renewed or churned (ARR due).",
        ),
        FunnelStage(
            "renewed",
            "Renewed",
            row["renewed"],
            quantize_money(row["renewed_total"]),
            "Renewed (renewed ARR).",
        ),
        FunnelStage(
            "kept",
            "Renewed, no downgrade",
            row["kept"],
            quantize_money(row["kept_arr"]),
            "Renewed at or above the ARR due (ARR due).",
        ),
        FunnelStage(
            "churned", "Churned", row["churned"], quantize_money(row["churned_arr"]), "Churned (ARR lost)."
        ),
        FunnelStage(
            "pending",
            "Pending",
            row["pending"],
            quantize_money(row["pending_arr"]),
            "No outcome yet (ARR due).",
        ),
    ]
    return stages, start, end
