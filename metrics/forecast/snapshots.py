"""The weekly snapshot of the renewals forecast (docs/renewals.md#weekly-snapshots): per quarter, CSM and
category, how many renewals, their ARR due and expected ARR as they stood that week; what forecast accuracy
reads to show how the category mix moved week by week. Beat takes one every Monday (cshub/celery.py);
`manage.py renewal_forecast_snapshot [--date D]` takes one by hand."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Case, Count, Sum, Value, When
from django.db.models.fields import DateField

from core.numbers import quantize_money

from ..models import Renewal, RenewalForecastSnapshot
from ..renewal_rules import at_risk_rate, with_expected
from .quarters import quarter_of


def week_of(day: dt.date) -> dt.date:
    """The Monday of `day`'s week: a snapshot's key, so a second run in the same week replaces the first."""
    return day - dt.timedelta(days=day.weekday())


def forecast_snapshot_take(*, day: dt.date) -> int:
    """Snapshot, as of `day`, the forecast of the renewals due in `day`'s quarter and the next one, grouped
    by quarter, CSM and category; returns how many renewals it covers. One grouped read and one insert of
    (quarters x CSMs x 5) rows; the week's earlier rows are replaced in the same transaction."""
    taken_on = week_of(day)
    this = quarter_of(day)
    following = this.next()
    quarter_start = Case(
        When(due_date__lt=following.start, then=Value(this.start)),
        default=Value(following.start),
        output_field=DateField(),
    )
    groups = (
        with_expected(
            Renewal.objects.filter(due_date__gte=this.start, due_date__lte=following.end), at_risk_rate(day)
        )
        .annotate(quarter_start=quarter_start)
        .order_by()
        .values("quarter_start", "book_csm_id", "category")
        .annotate(n=Count("pk"), due=Sum("arr_due"), expected=Sum("expected"))
    )
    rows = [
        RenewalForecastSnapshot(
            taken_on=taken_on,
            quarter_start=g["quarter_start"],
            csm_id=g["book_csm_id"],
            category=g["category"],
            renewals=g["n"],
            arr_due=quantize_money(g["due"]),
            expected_arr=quantize_money(g["expected"]),
        )
        for g in groups
    ]
    with transaction.atomic():
        RenewalForecastSnapshot.objects.filter(taken_on=taken_on).delete()
        RenewalForecastSnapshot.objects.bulk_create(rows, batch_size=2000)
    return sum(r.renewals for r in rows)
