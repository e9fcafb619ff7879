"""Forms of the metrics screens: the Revenue page's period and filters, first-value milestone."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Customer, User
from core.validation import validate_date_range

from .revenue import CUSTOMER_LISTS
from .scope import Scope

PERIODS = [("month", "Month"), ("quarter", "Quarter"), ("year", "Year"), ("custom", "Custom")]


def period_bounds(period: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month / quarter / year containing `anchor`."""
    if period == "year":
        return dt.date(anchor.year, 1, 1), dt.date(anchor.year, 12, 31)
    if period == "quarter":
        first_month = 3 * ((anchor.month - 1) // 3) + 1
        last_month = first_month + 2
        return (
            dt.date(anchor.year, first_month, 1),
            dt.date(anchor.year, last_month, calendar.monthrange(anchor.year, last_month)[1]),
        )
    return anchor.replace(day=1), anchor.replace(day=calendar.monthrange(anchor.year, anchor.month)[1])


class RevenueFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, initial="month")
    date = forms.DateField(
        required=False,
        validators=[validate_date_range],
        label="Containing",
        help_text="Any day of the month, quarter or year.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    start = forms.DateField(
        required=False, validators=[validate_date_range], widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, validators=[validate_date_range], widget=forms.DateInput(attrs={"type": "date"})
    )
    csm = forms.ModelChoiceField(
        queryset=User.objects.csms(),
        required=False,
        empty_label="All CSMs",
        label="CSM",
        to_field_name="email",
    )
    segment = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        segments = Customer.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True)
        self.fields["segment"].choices = [("", "All segments")] + [(s, s) for s in segments.distinct()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        period = data.get("period") or ("custom" if data.get("start") or data.get("end") else "month")
        data["period"] = period
        if period == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None:
                self.add_error("start", "Choose the first day of the period.")
            if end is None:
                self.add_error("end", "Choose the last day of the period.")
            if start and end and end < start:
                self.add_error("end", "The end must be on or after the start.")
        else:
            today = timezone.localdate()
            start, end = period_bounds(period, data.get("date") or today)
            # The period so far: metrics of days that have not happened yet would only repeat today's.
            data["start"], data["end"] = start, max(start, min(end, today))
        return data

    @property
    def scope(self) -> Scope:
        return Scope(csm=self.cleaned_data.get("csm"), segment=self.cleaned_data.get("segment") or None)

    def query(self, **extra: str) -> str:
        """The current filters as a query string, for links to the customer lists."""
        from urllib.parse import urlencode

        data = self.cleaned_data
        params = {"start": data["start"].isoformat(), "end": data["end"].isoformat(), "period": "custom"}
        if data.get("csm"):
            params["csm"] = data["csm"].email
        if data.get("segment"):
            params["segment"] = data["segment"]
        params.update(extra)
        return urlencode(params)


class RevenueCustomersForm(RevenueFilterForm):
    metric = forms.ChoiceField(choices=[(k, v[0]) for k, v in CUSTOMER_LISTS.items()])


class ValueMilestoneForm(forms.Form):
    achieved_on = forms.DateField(
        label="First value reached on",
        validators=[validate_date_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )
    note = forms.CharField(max_length=300, required=False, help_text="What value, e.g. first report shipped.")
