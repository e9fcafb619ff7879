"""The weekly snapshot of every renewal's forecast (docs/renewals.md#weekly-snapshots): what forecast
accuracy reads to show how the category mix moved week by week. Beat takes one every Monday
(cshub/celery.py); `manage.py renewal_forecast_snapshot [--date D]` takes one by hand."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ..models import Renewal, RenewalForecastSnapshot
from ..renewal_rules import at_risk_rate, with_expected
from .quarters import quarter_of


def week_of(day: dt.date) -> dt.date:
    """The Monday of `day`'s week: a snapshot's key, so a second run in the same week replaces the first."""
    return day - dt.timedelta(days=day.weekday())


def forecast_snapshot_take(*, day: dt.date) -> int:
    """Snapshot the forecast of every renewal due in `day`'s quarter or the next one, as of `day`; returns
    how many rows. Safe to run twice: the week's rows are replaced in one transaction. One read and batched
    inserts of 5,000 rows (two quarters of renewals at 25,000 a quarter: a few seconds, once a week)."""
    taken_on = week_of(day)
    quarter = quarter_of(day)
    rate = at_risk_rate(day)
    renewals = with_expected(
        Renewal.objects.filter(due_date__gte=quarter.start, due_date__lte=quarter.next().end), rate
    ).values_list("pk", "due_date", "book_csm_id", "arr_due", "category", "expected", "outcome")
    with transaction.atomic():
        RenewalForecastSnapshot.objects.filter(taken_on=taken_on).delete()
        rows = [
            RenewalForecastSnapshot(
                taken_on=taken_on,
                renewal_id=pk,
                due_date=due,
                csm_id=csm_id,
                arr_due=arr_due,
                category=category,
                expected_arr=expected,
                outcome=outcome,
            )
            for pk, due, csm_id, arr_due, category, expected, outcome in renewals.iterator(chunk_size=5000)
        ]
        RenewalForecastSnapshot.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
