"""The health model editor form: each registered factor's weight, anchors and switch; bands and margin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from ..models import BacktestKind, HealthModel
from .backtest_jobs import question_validate
from .engine import FactorConfig, ModelConfig
from .factors import load
from .factors.feature_usage import is_feature_key


class HealthModelForm(forms.Form):
    green = forms.DecimalField(label="Green from", min_value=0, max_value=100, decimal_places=1)
    yellow = forms.DecimalField(label="Yellow from", min_value=0, max_value=100, decimal_places=1)
    margin = forms.DecimalField(
        label="Hysteresis margin",
        min_value=0,
        max_value=20,
        decimal_places=1,
        help_text="Points by which a score must clear a threshold to leave yesterday's band.",
    )
    note = forms.CharField(
        max_length=300, required=False, help_text="Why this version (required to save).", strip=True
    )

    def __init__(self, *args: Any, base: HealthModel, **kwargs: Any) -> None:
        self.base = base
        existing = {f.key: f for f in base.factors.all()}
        initial = {
            "green": base.green_threshold,
            "yellow": base.yellow_threshold,
            "margin": base.hysteresis_margin,
        }
        self.factor_keys: list[str] = []
        registry = load()
        # The base model's factors first, in its order; then any registered factor it does not have (off);
        # then the per-feature factors a submitted proposal carries (docs/health.md#usage-of-one-feature).
        ordered = [k for k in existing if k in registry] + [k for k in registry if k not in existing]
        data = args[0] if args else kwargs.get("data")
        for name in data or ():
            key = name.removesuffix("-weight")
            if name.endswith("-weight") and is_feature_key(key) and key not in ordered:
                ordered.append(key)
        for key in ordered:
            factor = registry[key]
            have = existing.get(key)
            initial[f"{key}-enabled"] = have.enabled if have else False
            initial[f"{key}-weight"] = have.weight if have else Decimal(str(factor.default_weight))
            initial[f"{key}-bad"] = have.bad if have else factor.default_bad
            initial[f"{key}-good"] = have.good if have else factor.default_good
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for key in ordered:
            self._add_factor_fields(key)

    def _add_factor_fields(self, key: str) -> None:
        self.factor_keys.append(key)
        self.fields[f"{key}-enabled"] = forms.BooleanField(required=False, label="On")
        self.fields[f"{key}-weight"] = forms.DecimalField(
            label="Weight", min_value=0, max_value=1000, decimal_places=2
        )
        self.fields[f"{key}-bad"] = forms.FloatField(label="Bad (0 points)")
        self.fields[f"{key}-good"] = forms.FloatField(label="Good (100 points)")

    def propose(self, model: dict[str, Any], *, note: str) -> None:
        """Start the editor from a proposal (a fit's `model`: factors, green, yellow, margin) instead of the
        base version; nothing is saved until the user saves."""
        for f in model["factors"]:
            if f["key"] not in self.factor_keys and is_feature_key(f["key"]):
                self._add_factor_fields(f["key"])
            if f["key"] in self.factor_keys:
                self.initial[f"{f['key']}-enabled"] = f["enabled"]
                self.initial[f"{f['key']}-weight"] = f["weight"]
                self.initial[f"{f['key']}-bad"] = f["bad"]
                self.initial[f"{f['key']}-good"] = f["good"]
        self.initial.update(green=model["green"], yellow=model["yellow"], margin=model["margin"], note=note)

    def factor_rows(self) -> list[dict[str, Any]]:
        registry = load()
        return [
            {
                "key": key,
                "label": registry[key].label,
                "description": registry[key].description,
                "enabled": self[f"{key}-enabled"],
                "weight": self[f"{key}-weight"],
                "bad": self[f"{key}-bad"],
                "good": self[f"{key}-good"],
            }
            for key in self.factor_keys
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        green, yellow = data.get("green"), data.get("yellow")
        if green is not None and yellow is not None and green <= yellow:
            self.add_error("green", "Green must start above yellow.")
        total = Decimal(0)
        for key in self.factor_keys:
            bad, good = data.get(f"{key}-bad"), data.get(f"{key}-good")
            if bad is not None and good is not None and bad == good:
                self.add_error(f"{key}-good", "Good and bad must differ.")
            if data.get(f"{key}-enabled") and data.get(f"{key}-weight") is not None:
                total += data[f"{key}-weight"]
        if total <= 0:
            raise forms.ValidationError("Turn on at least one factor with a weight above 0.")
        return data

    def factors(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        return [
            {
                "key": key,
                "weight": d[f"{key}-weight"],
                "bad": d[f"{key}-bad"],
                "good": d[f"{key}-good"],
                "enabled": bool(d[f"{key}-enabled"]),
            }
            for key in self.factor_keys
        ]

    def config(self) -> ModelConfig:
        d = self.cleaned_data
        return ModelConfig(
            factors=tuple(
                FactorConfig(f["key"], float(f["weight"]), f["bad"], f["good"], f["enabled"])
                for f in self.factors()
            ),
            green=float(d["green"]),
            yellow=float(d["yellow"]),
            margin=float(d["margin"]),
        )


class BacktestForm(forms.Form):
    """The backtest page's question (docs/health.md#backtest-page-and-job): a range of as-of dates and a
    version. Its `question` is what `backtest_jobs.backtest_job_ask` answers."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    model = forms.TypedChoiceField(label="Model version", coerce=int)

    FIELDS = {"from": "start", "to": "end", "model": "model"}  # the service's field names -> this form's

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        versions = HealthModel.objects.order_by("-version").values_list("version", flat=True)
        self.fields["model"].choices = [(v, f"v{v}") for v in versions]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["question"] = question_validate(
                kind=BacktestKind.BACKTEST, start=data["start"], end=data["end"], version=data["model"]
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(self.FIELDS.get(field), message)
        return data
