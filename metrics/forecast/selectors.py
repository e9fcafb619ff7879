"""Reads of the renewals forecast (docs/renewals.md): a quarter's figures per CSM in one grouped query, the
renewals behind each figure, forecast accuracy and the weekly category mix. Every function takes the CSM ids
of the viewer's scope (accounts.visibility.scope_csm_ids: None = every customer) and aggregates in SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Least

from core.numbers import quantize_money, ratio
from core.sql import MONEY_FIELD

from ..models import ForecastCategory, Outcome, Renewal, RenewalForecastSnapshot
from ..renewal_rules import actual_arr, at_risk_rate, retained_arr, with_expected
from .quarters import Quarter

FLAG_DAYS = 90  # docs/renewals.md#flags: due within this many days and still without a category
CATEGORIES = [c.value for c in ForecastCategory]
RED = "red"

# What a figure of the page drills down to (?bucket=…): its label and the filter on annotated renewals.
BUCKETS: dict[str, str] = {
    "all": "All renewals due",
    "commit": "Commit",
    "likely": "Likely",
    "at_risk": "At risk",
    "lost": "Lost",
    "uncategorized": "No category",
    "expected": "With a forecast (expected ARR)",
    "renewed": "Renewed",
    "churned": "Churned",
    "open": "Open",
    "gap": "Short of 100 % GRR",
    "flag_uncategorized": f"Due within {FLAG_DAYS} days, no category",
    "flag_commit_red": "Commit while the customer is red",
}


def _scoped(renewals: QuerySet[Renewal], csm_ids: Iterable[int | None] | None) -> QuerySet[Renewal]:
    """Renewals of the customers of these CSMs (None among them: customers with no CSM); all when None."""
    if csm_ids is None:
        return renewals
    ids = list(csm_ids)
    known = [i for i in ids if i is not None]
    if len(known) < len(ids):
        return renewals.filter(Q(book_csm_id__in=known) | Q(book_csm_id__isnull=True))
    return renewals.filter(book_csm_id__in=known)


def _in_quarter(quarter: Quarter) -> Q:
    return Q(due_date__gte=quarter.start, due_date__lte=quarter.end)


def _flag_uncategorized(today: dt.date) -> Q:
    return Q(outcome=Outcome.PENDING, category="", due_date__lte=today + dt.timedelta(days=FLAG_DAYS))


FLAG_COMMIT_RED = Q(outcome=Outcome.PENDING, category=ForecastCategory.COMMIT, customer__health_band=RED)


@dataclass
class Figures:
    """A quarter's forecast over some renewals (docs/renewals.md#the-quarter): money in dollars, `n_*` counts.
    The category buckets split arr_due; renewed_arr is what renewed (upsell included), churned_arr and
    open_arr are ARR due; `retained_arr` caps each renewed renewal at its ARR due and `open_expected_arr`
    caps each open renewal's expected ARR at its ARR due: the gap to 100 % GRR is what neither covers."""

    renewals: int = 0
    arr_due: Decimal = Decimal("0.00")
    commit_arr: Decimal = Decimal("0.00")
    likely_arr: Decimal = Decimal("0.00")
    at_risk_arr: Decimal = Decimal("0.00")
    lost_arr: Decimal = Decimal("0.00")
    uncategorized_arr: Decimal = Decimal("0.00")
    expected_arr: Decimal = Decimal("0.00")
    renewed_arr: Decimal = Decimal("0.00")
    churned_arr: Decimal = Decimal("0.00")
    open_arr: Decimal = Decimal("0.00")
    retained_arr: Decimal = Decimal("0.00")
    open_expected_arr: Decimal = Decimal("0.00")
    n_commit: int = 0
    n_likely: int = 0
    n_at_risk: int = 0
    n_lost: int = 0
    n_uncategorized: int = 0
    n_expected: int = 0
    n_renewed: int = 0
    n_churned: int = 0
    n_open: int = 0
    n_flag_uncategorized: int = 0
    n_flag_commit_red: int = 0

    @property
    def gap_arr(self) -> Decimal:
        """ARR due - retained - open expected (each capped at its due): short of 100 % GRR."""
        return self.arr_due - self.retained_arr - self.open_expected_arr

    @property
    def forecast_grr(self) -> Decimal | None:
        """(retained + open expected) ÷ ARR due: the GRR the quarter ends at if the forecast holds."""
        return ratio(self.retained_arr + self.open_expected_arr, self.arr_due)

    @property
    def flags(self) -> int:
        return self.n_flag_uncategorized + self.n_flag_commit_red

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(Figures)}
        )


MONEY = [f.name for f in dataclasses.fields(Figures) if f.name.endswith("_arr") or f.name == "arr_due"]


def _group_aggregates(today: dt.date) -> dict[str, Any]:
    """Per (CSM, category, outcome): ten sums, no FILTER per figure; _fold adds the groups up."""
    return {
        "g_n": Count("pk"),
        "g_due": Sum("arr_due"),
        "g_expected": Sum("expected"),
        "g_actual": Sum("actual"),
        "g_retained": Sum(retained_arr()),
        "g_expected_capped": Sum(Least(F("expected"), F("arr_due"), output_field=MONEY_FIELD)),
        "g_flag": Count("pk", filter=_flag_uncategorized(today)),
        # Forecast accuracy (docs/renewals.md#forecast-accuracy) from the same scan.
        "g_frozen_n": Count("pk", filter=Q(closed_expected_arr__isnull=False)),
        "g_frozen_expected": Sum("closed_expected_arr"),
        "g_frozen_actual": Sum("actual", filter=Q(closed_expected_arr__isnull=False)),
    }


def _fold(figures: Figures, row: dict[str, Any]) -> None:
    """Add one (CSM, category, outcome) group to `figures` (docs/renewals.md#the-quarter)."""
    n, due = row["g_n"], quantize_money(row["g_due"])
    category, outcome = row["category"], row["outcome"]
    figures.renewals += n
    figures.arr_due += due
    name = category or "uncategorized"
    setattr(figures, f"{name}_arr", getattr(figures, f"{name}_arr") + due)
    setattr(figures, f"n_{name}", getattr(figures, f"n_{name}") + n)
    figures.expected_arr += quantize_money(row["g_expected"])
    figures.n_expected += n if category else 0
    figures.n_flag_uncategorized += row["g_flag"]
    if outcome == Outcome.RENEWED:
        figures.renewed_arr += quantize_money(row["g_actual"])
        figures.retained_arr += quantize_money(row["g_retained"])
        figures.n_renewed += n
    elif outcome == Outcome.CHURNED:
        figures.churned_arr += due
        figures.n_churned += n
    else:
        figures.open_arr += due
        figures.n_open += n
        if category:
            figures.open_expected_arr += quantize_money(row["g_expected_capped"])


@dataclass
class Forecast:
    """The quarter's forecast: the total, and one Figures per CSM (book_csm id; None = no CSM)."""

    quarter: Quarter
    as_of: dt.date
    at_risk_rate: Decimal
    total: Figures
    by_csm: dict[int | None, Figures] = field(default_factory=dict)
    accuracy_total: Accuracy | None = None
    accuracy: dict[int | None, Accuracy] = field(default_factory=dict)


def _fold_accuracy(acc: Accuracy, row: dict[str, Any]) -> None:
    if row["outcome"] == Outcome.PENDING:
        acc.still_open += row["g_n"]
        return
    acc.closed += row["g_frozen_n"]
    acc.closed_unforecast += row["g_n"] - row["g_frozen_n"]
    acc.expected_arr += quantize_money(row["g_frozen_expected"])
    acc.actual_arr += quantize_money(row["g_frozen_actual"])


def forecast(*, quarter: Quarter, csm_ids: Iterable[int | None] | None, today: dt.date) -> Forecast:
    """docs/renewals.md#the-quarter: the renewals due in `quarter` of the customers of `csm_ids` (None: all),
    grouped by CSM, with forecast accuracy (as `accuracy` computes it). Three queries: the at_risk rate, one
    grouped aggregate and the red flags."""
    rate = at_risk_rate(today)
    renewals = with_expected(_scoped(Renewal.objects.filter(_in_quarter(quarter)), csm_ids), rate)
    rows = (
        renewals.order_by().values("book_csm_id", "category", "outcome").annotate(**_group_aggregates(today))
    )
    by_csm: dict[int | None, Figures] = {}
    accuracy_by_csm: dict[int | None, Accuracy] = {}
    for row in rows:
        _fold(by_csm.setdefault(row["book_csm_id"], Figures()), row)
        _fold_accuracy(accuracy_by_csm.setdefault(row["book_csm_id"], Accuracy()), row)
    # The red flag joins the customers: a query of its own over the few pending commits, so the main
    # aggregate reads only the renewals (no join over every customer).
    red = (
        _scoped(Renewal.objects.filter(_in_quarter(quarter)), csm_ids)
        .filter(FLAG_COMMIT_RED)
        .order_by()
        .values_list("book_csm_id")
        .annotate(n=Count("pk"))
    )
    for csm_id, n in red:
        by_csm[csm_id].n_flag_commit_red = n
    total = sum(by_csm.values(), Figures())
    return Forecast(
        quarter=quarter,
        as_of=today,
        at_risk_rate=rate,
        total=total,
        by_csm=by_csm,
        accuracy_total=sum(accuracy_by_csm.values(), Accuracy()),
        accuracy=accuracy_by_csm,
    )


def bucket_q(bucket: str, today: dt.date) -> Q:
    """The filter of a drill-down bucket over renewals annotated by with_expected."""
    pending = Q(outcome=Outcome.PENDING)
    if bucket in CATEGORIES:
        return Q(category=bucket)
    filters = {
        "all": Q(),
        "uncategorized": Q(category=""),
        "expected": ~Q(category=""),
        "renewed": Q(outcome=Outcome.RENEWED),
        "churned": Q(outcome=Outcome.CHURNED),
        "open": pending,
        "gap": Q(outcome=Outcome.CHURNED)
        | Q(outcome=Outcome.RENEWED, renewed_arr__lt=F("arr_due"))
        | (pending & Q(category=""))
        | (pending & Q(expected__lt=F("arr_due"))),
        "flag_uncategorized": _flag_uncategorized(today),
        "flag_commit_red": FLAG_COMMIT_RED,
    }
    return filters[bucket]


def forecast_renewals(
    *,
    quarter: Quarter,
    csm_ids: Iterable[int | None] | None,
    today: dt.date,
    bucket: str = "all",
    rate: Decimal | None = None,
) -> QuerySet[Renewal]:
    """The renewals behind a figure (docs/renewals.md#drill-down), annotated with `expected` and `actual`,
    with customer and CSM, by due date. `rate`: the at_risk rate when the caller has it (one query less)."""
    rate = at_risk_rate(today) if rate is None else rate
    renewals = with_expected(_scoped(Renewal.objects.filter(_in_quarter(quarter)), csm_ids), rate)
    return (
        renewals.filter(bucket_q(bucket, today))
        .select_related("customer", "customer__csm")
        .order_by("due_date", "customer__name", "pk")
    )


# --- Accuracy and the weekly mix -------------------------------------------------------------------------


@dataclass
class Accuracy:
    """Forecast against outcome over closed renewals that had a forecast when they closed
    (docs/renewals.md#forecast-accuracy). accuracy = 1 - |actual - expected| ÷ expected, floored at 0."""

    closed: int = 0
    expected_arr: Decimal = Decimal("0.00")
    actual_arr: Decimal = Decimal("0.00")
    closed_unforecast: int = 0
    still_open: int = 0

    @property
    def variance_arr(self) -> Decimal:
        return self.actual_arr - self.expected_arr

    @property
    def accuracy(self) -> Decimal | None:
        miss = ratio(abs(self.variance_arr), self.expected_arr)
        return None if miss is None else max(Decimal(0), 1 - miss)

    def __add__(self, other: Accuracy) -> Accuracy:
        return Accuracy(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(Accuracy)}
        )


def accuracy(
    *, quarter: Quarter, csm_ids: Iterable[int | None] | None
) -> tuple[Accuracy, dict[int | None, Accuracy]]:
    """(overall, per CSM) for the renewals due in `quarter`: expected = the expected ARR frozen when each
    closed (closed_expected_arr), actual = what it renewed (0 when churned). One grouped query."""
    forecast_made = Q(closed_expected_arr__isnull=False) & ~Q(outcome=Outcome.PENDING)
    rows = (
        _scoped(Renewal.objects.filter(_in_quarter(quarter)), csm_ids)
        .annotate(actual=actual_arr())
        .order_by()
        .values("book_csm_id")
        .annotate(
            a_closed=Count("pk", filter=forecast_made),
            a_expected=Sum("closed_expected_arr", filter=forecast_made),
            a_actual=Sum("actual", filter=forecast_made),
            a_unforecast=Count(
                "pk", filter=~Q(outcome=Outcome.PENDING) & Q(closed_expected_arr__isnull=True)
            ),
            a_open=Count("pk", filter=Q(outcome=Outcome.PENDING)),
        )
    )
    by_csm = {
        row["book_csm_id"]: Accuracy(
            closed=row["a_closed"],
            expected_arr=quantize_money(row["a_expected"]),
            actual_arr=quantize_money(row["a_actual"]),
            closed_unforecast=row["a_unforecast"],
            still_open=row["a_open"],
        )
        for row in rows
    }
    return sum(by_csm.values(), Accuracy()), by_csm


@dataclass
class Week:
    """One weekly snapshot of the quarter's renewals: ARR due per category ("" = none) and expected ARR."""

    taken_on: dt.date
    arr_by_category: dict[str, Decimal]
    expected_arr: Decimal

    @property
    def arr_due(self) -> Decimal:
        return sum(self.arr_by_category.values(), Decimal("0.00"))


def weekly_mix(*, quarter: Quarter, csm_ids: Iterable[int | None] | None) -> list[Week]:
    """How the category mix of the quarter's renewals moved, snapshot by snapshot (docs/renewals.md
    #weekly-snapshots), oldest first. One grouped query."""
    snapshots = RenewalForecastSnapshot.objects.filter(quarter_start=quarter.start)
    if csm_ids is not None:
        snapshots = snapshots.filter(csm_id__in=list(csm_ids))
    rows = (
        snapshots.order_by()
        .values("taken_on", "category")
        .annotate(arr=Sum("arr_due"), expected=Sum("expected_arr"))
        .order_by("taken_on", "category")
    )
    weeks: dict[dt.date, Week] = {}
    for row in rows:
        week = weeks.setdefault(
            row["taken_on"],
            Week(row["taken_on"], dict.fromkeys(["", *CATEGORIES], Decimal("0.00")), Decimal("0.00")),
        )
        week.arr_by_category[row["category"]] = quantize_money(row["arr"])
        week.expected_arr += quantize_money(row["expected"])
    return list(weeks.values())
