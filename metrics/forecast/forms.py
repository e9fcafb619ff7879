"""Forms of the renewals forecast screens (validation only; metrics.forecast.services writes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from core.validation import validate_date_range, validate_text

from ..models import ForecastCategory
from .services import Result

MAX_ARR = Decimal("999999999999.99")  # Renewal's 14 digits, 2 places


def _money_field(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_ARR,
        max_digits=14,
        decimal_places=2,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


class RenewalForecastForm(forms.Form):
    category = forms.ChoiceField(
        choices=[("", "No category"), *ForecastCategory.choices], required=False, label="Forecast"
    )
    expected_arr = _money_field(
        "Expected ARR",
        "Leave empty for the rule: ARR due for commit and likely, 0 for lost, ARR due x the at-risk rate.",
    )
    note = forms.CharField(
        max_length=500, required=False, validators=[validate_text], widget=forms.Textarea(attrs={"rows": 2})
    )


class RenewalOutcomeForm(forms.Form):
    result = forms.ChoiceField(choices=Result.CHOICES, label="Outcome", widget=forms.RadioSelect)
    arr = _money_field("ARR", "Renewed at (at least the ARR due) or downgraded to; empty when churned.")
    write_ledger = forms.BooleanField(
        required=False, label="Also record the new MRR (ARR ÷ 12) in the MRR ledger", initial=True
    )
    effective_date = forms.DateField(
        required=False,
        validators=[validate_date_range],
        label="MRR changes on",
        help_text="Default: the renewal's due date.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("result") == Result.CHURNED:
            data["arr"] = None if data.get("arr") in (None, Decimal(0)) else data["arr"]
        return data
