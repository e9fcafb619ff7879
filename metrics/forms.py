"""Forms of the metrics screens: the Revenue page's period and filters, first-value milestone."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Customer, User
from accounts.visibility import scope_csm_ids, scope_label
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


def last_complete(period: str, today: dt.date) -> dt.date:
    """A day of the last month / quarter / year that has ended by `today` (the default period: a month to
    date would show NRR over a few days)."""
    start, _ = period_bounds(period, today)
    return start - dt.timedelta(days=1)


def _short(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def period_words(start: dt.date, end: dt.date) -> str:
    """The period in words, as shown next to every rate: "November 2026", "Q3 2026", "2025", "December 2026
    to date (Dec 1 - Dec 7, 7 days)" or "Mar 3 - Apr 9, 2024 (38 days)", with en dashes."""
    days = (end - start).days + 1
    for period, name in (
        ("month", f"{start:%B %Y}"),
        ("quarter", f"Q{(start.month - 1) // 3 + 1} {start.year}"),
        ("year", str(start.year)),
    ):
        first, last = period_bounds(period, start)
        if first == start and last == end:
            return name
        if first == start and end < last:
            plural = "s" if days != 1 else ""
            return f"{name} to date ({_short(start)} \u2013 {_short(end)}, {days} day{plural})"
    first = _short(start) if start.year == end.year else f"{_short(start)}, {start.year}"
    return f"{first} \u2013 {_short(end)}, {end.year} ({days} day{'s' if days != 1 else ''})"


class RevenueFilterForm(forms.Form):
    """The Revenue page's filters. Whose customers: the viewer's own scope by default (a CSM's book, a
    manager's teams), widened to everyone with `whose=all` or narrowed to one CSM
    (docs/metrics.md#revenue-page)."""

    whose = forms.ChoiceField(required=False, label="Customers")
    period = forms.ChoiceField(choices=PERIODS, required=False, initial="month")
    date = forms.DateField(
        required=False,
        validators=[validate_date_range],
        label="Containing",
        help_text="Any day of it; empty: the last complete one.",
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

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.own_csm_ids = scope_csm_ids(user)
        own = [] if self.own_csm_ids is None else [("mine", scope_label(user))]
        self.fields["whose"].choices = [*own, ("all", "All customers")]
        segments = Customer.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True)
        self.fields["segment"].choices = [("", "All segments")] + [(s, s) for s in segments.distinct()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        period = data.get("period") or ("custom" if data.get("start") or data.get("end") else "month")
        data["period"] = period
        data["whose"] = data.get("whose") or self.fields["whose"].choices[0][0]
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
            start, end = period_bounds(period, data.get("date") or last_complete(period, today))
            # The period so far: metrics of days that have not happened yet would only repeat today's.
            data["start"], data["end"] = start, max(start, min(end, today))
        return data

    @property
    def scope(self) -> Scope:
        data = self.cleaned_data
        # One CSM's book, else the viewer's own scope unless widened to everyone.
        mine = data.get("csm") is None and data["whose"] == "mine"
        return Scope(
            csm=data.get("csm"),
            segment=data.get("segment") or None,
            csm_ids=self.own_csm_ids if mine else None,
        )

    @property
    def scope_label(self) -> str:
        """Whose customers the numbers cover, for the page title: "Your book", "Your teams", "All customers",
        "Casey Csm's book", with the segment if one is chosen."""
        data = self.cleaned_data
        csm = data.get("csm")
        if csm is not None:
            label = "Your book" if csm == self.user else f"{csm.full_name or csm.email}'s book"
        else:
            label = dict(self.fields["whose"].choices)[data["whose"]]
        return f"{label} · {data['segment']}" if data.get("segment") else label

    @property
    def period_words(self) -> str:
        return period_words(self.cleaned_data["start"], self.cleaned_data["end"])

    def query(self, **extra: str) -> str:
        """The current filters as a query string, for links to the customer lists."""
        from urllib.parse import urlencode

        data = self.cleaned_data
        params = {
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            "period": "custom",
            "whose": data["whose"],
        }
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
