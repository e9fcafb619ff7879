"""The expected-ARR rule of a renewal's forecast (docs/renewals.md#expected-arr), as SQL expressions.

Every reader (the Renewals page, the forecast API, the customer page, the weekly snapshot, the trigger) and
every writer that closes a renewal (the in-app outcome, the ingestion API) takes the rule from here, so they
agree to the cent. It is its own module, beside models, because both metrics.services (ingestion) and
metrics.forecast (which calls the ledger services) need it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Least, Round

from core.numbers import quantize_money
from core.sql import MONEY_FIELD, ZERO_MONEY

from .models import ForecastCategory, Outcome, Renewal

# The at_risk rate (docs/renewals.md#the-at-risk-rate): closed at_risk renewals due in the last year, at
# least this many of them; otherwise the fallback.
AT_RISK_LOOKBACK_DAYS = 365
AT_RISK_MIN_RENEWALS = 5
RATE_PLACES = Decimal("0.0001")
DECIDED = (Outcome.RENEWED, Outcome.CHURNED)
RATE_FIELD = DecimalField(max_digits=9, decimal_places=4)


def fallback_rate() -> Decimal:
    """The at_risk rate without enough history: settings.CSHUB_RENEWAL_AT_RISK_FALLBACK_RATE (0.5)."""
    return Decimal(str(getattr(settings, "CSHUB_RENEWAL_AT_RISK_FALLBACK_RATE", "0.5"))).quantize(RATE_PLACES)


def actual_arr() -> Case:
    """SQL: the ARR a closed renewal actually renewed: renewed_arr (arr_due when renewed without one), 0 when
    churned; null while pending (docs/metrics.md Renewals)."""
    return Case(
        When(outcome=Outcome.RENEWED, then=Coalesce(F("renewed_arr"), F("arr_due"))),
        When(outcome=Outcome.CHURNED, then=ZERO_MONEY),
        default=Value(None),
        output_field=MONEY_FIELD,
    )


def retained_arr() -> Least:
    """SQL: the actual ARR capped at the ARR due (a gross renewal rate's numerator)."""
    return Least(actual_arr(), F("arr_due"), output_field=MONEY_FIELD)


def at_risk_history(today: dt.date, *, exclude: Any = None) -> tuple[int, Decimal, Decimal]:
    """(renewals, Σ retained ARR, Σ ARR due) of the closed at_risk renewals due in [today - 365, today],
    leaving out the ids in `exclude` (a list or a subquery)."""
    renewals = Renewal.objects.all() if exclude is None else Renewal.objects.exclude(pk__in=exclude)
    row = renewals.filter(
        category=ForecastCategory.AT_RISK,
        outcome__in=DECIDED,
        due_date__gte=today - dt.timedelta(days=AT_RISK_LOOKBACK_DAYS),
        due_date__lte=today,
    ).aggregate(n=Count("pk"), kept=Sum(retained_arr()), due=Sum("arr_due"))
    return row["n"], quantize_money(row["kept"]), quantize_money(row["due"])


def at_risk_rate(today: dt.date, *, exclude: Any = None) -> Decimal:
    """docs/renewals.md#the-at-risk-rate: the gross renewal rate (Σ min(actual, due) ÷ Σ due) of the closed
    renewals that were at_risk when they closed, due in the 365 days up to today, to 4 places; the fallback
    rate when there are fewer than 5 of them or they were worth nothing. One query. `exclude`: renewals to
    leave out (those being closed now: a renewal's own outcome is no part of its forecast)."""
    n, kept, due = at_risk_history(today, exclude=exclude)
    if n < AT_RISK_MIN_RENEWALS or not due:
        return fallback_rate()
    return (kept / due).quantize(RATE_PLACES)


def rule_expected_arr(rate: Decimal) -> Case:
    """SQL: the expected ARR of a renewal as its forecast says now (ignoring any frozen value): null without
    a category; the override if one is set; else ARR due for commit and likely, 0 for lost, and ARR due x
    the at_risk rate (rounded to the cent) for at_risk."""
    at_risk = ExpressionWrapper(Round(F("arr_due") * Value(rate, output_field=RATE_FIELD), 2), MONEY_FIELD)
    return Case(
        When(category="", then=Value(None)),
        When(expected_arr_override__isnull=False, then=F("expected_arr_override")),
        When(category__in=[ForecastCategory.COMMIT, ForecastCategory.LIKELY], then=F("arr_due")),
        When(category=ForecastCategory.LOST, then=ZERO_MONEY),
        When(category=ForecastCategory.AT_RISK, then=at_risk),
        default=Value(None),
        output_field=MONEY_FIELD,
    )


def expected_arr(rate: Decimal) -> Case:
    """SQL: a renewal's expected ARR: once closed, the value frozen when its outcome was recorded
    (closed_expected_arr); before, the rule (rule_expected_arr)."""
    return Case(
        When(
            ~Q(outcome=Outcome.PENDING) & Q(closed_expected_arr__isnull=False), then=F("closed_expected_arr")
        ),
        default=rule_expected_arr(rate),
        output_field=MONEY_FIELD,
    )


def with_expected(renewals: QuerySet[Renewal], rate: Decimal) -> QuerySet[Renewal]:
    """The renewals annotated with `expected` (expected_arr) and `actual` (actual_arr)."""
    return renewals.annotate(expected=expected_arr(rate), actual=actual_arr())


def forecast_freeze(*, renewal_ids: Any, today: dt.date) -> None:
    """Keep the expected ARR of the renewals that have just closed (closed_expected_arr, the forecast that
    accuracy is judged by) and forget it for those that are pending again. Two UPDATEs over `renewal_ids`
    (a list or a subquery of ids)."""
    rate = at_risk_rate(today, exclude=renewal_ids)
    rows = Renewal.objects.filter(pk__in=renewal_ids)
    rows.exclude(outcome=Outcome.PENDING).filter(closed_expected_arr__isnull=True).exclude(
        category=""
    ).update(closed_expected_arr=rule_expected_arr(rate))
    rows.filter(outcome=Outcome.PENDING, closed_expected_arr__isnull=False).update(closed_expected_arr=None)
