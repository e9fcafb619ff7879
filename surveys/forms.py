"""Forms: the public answer form and the manager's campaign form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Customer, LifecycleStage, User
from accounts.visibility import editable_customers

from .models import COMMENT_MAX_LENGTH, Kind, scale_of


class AnswerForm(forms.Form):
    score = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect, error_messages={"required": ""})
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX_LENGTH}),
        strip=True,
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        scale = scale_of(kind)
        self.fields["score"].choices = [(n, str(n)) for n in scale]
        message = f"Choose a score from {scale[0]} to {scale[-1]}."
        self.fields["score"].error_messages.update({"required": message, "invalid_choice": message})

    def clean_comment(self) -> str:
        comment = self.cleaned_data["comment"]
        if len(comment) > COMMENT_MAX_LENGTH:
            raise ValidationError(
                f"Please keep your comment under {COMMENT_MAX_LENGTH:,} characters ({len(comment):,} now)."
            )
        return comment


class CampaignForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.RadioSelect, initial=Kind.NPS)
    segment = forms.ChoiceField(required=False)
    csm = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="CSM", empty_label="Any CSM"
    )
    lifecycle_stage = forms.ChoiceField(
        required=False, choices=[("", "Any stage"), *LifecycleStage.choices], label="Lifecycle stage"
    )
    customers = forms.ModelMultipleChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        label="Or pick customers",
        help_text="Picked customers replace the filters above.",
        # Tick boxes in a searchable list (surveys/picker.js), not a multi-select that needs Ctrl-click.
        widget=forms.CheckboxSelectMultiple,
    )
    question = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Leave empty to use the standard question of the kind.",
    )

    def clean_question(self) -> str:
        # It becomes the email's subject line: one line, whatever the textarea held.
        return " ".join(self.cleaned_data["question"].split())

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        book = editable_customers(user)
        segments = sorted(s for s in book.values_list("segment", flat=True).distinct() if s)
        self.fields["segment"].choices = [("", "Any segment"), *((s, s) for s in segments)]
        self.fields["csm"].queryset = User.objects.filter(pk__in=book.values("csm")).order_by("full_name")
        self.fields["customers"].queryset = book.order_by("name")

    def selection_label(self) -> str:
        data = self.cleaned_data
        if data.get("customers"):
            return f"{len(data['customers'])} picked customer(s)"
        parts = []
        if data.get("segment"):
            parts.append(f"segment {data['segment']}")
        if data.get("csm"):
            parts.append(f"CSM {data['csm']}")
        if data.get("lifecycle_stage"):
            parts.append(f"stage {LifecycleStage(data['lifecycle_stage']).label}")
        return ", ".join(parts) or "all customers"


class ResultsFilterForm(forms.Form):
    """Filters of the Surveys page (GET). Every field optional; invalid values are ignored."""

    months = forms.TypedChoiceField(
        coerce=int,
        required=False,
        choices=[(3, "Last 3 months"), (6, "Last 6 months"), (12, "Last 12 months"), (24, "Last 24 months")],
        label="Period",
    )
    segment = forms.ChoiceField(required=False)
    csm = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="CSM", empty_label="All CSMs"
    )
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *Kind.choices])
    band = forms.ChoiceField(
        required=False,
        label="Score band",
        choices=[
            ("", "All scores"),
            ("negative", "Detractors / unhappy"),
            ("neutral", "Passives / neutral"),
            ("positive", "Promoters / happy"),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        segments = (
            Customer.objects.exclude(segment="")
            .order_by("segment")
            .values_list("segment", flat=True)
            .distinct()
        )
        self.fields["segment"].choices = [("", "All segments"), *((s, s) for s in segments)]
        self.fields["csm"].queryset = User.objects.filter(pk__in=Customer.objects.values("csm")).order_by(
            "full_name", "email"
        )
        self.fields["months"].initial = 12

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if not valid:
            # A bad filter value is dropped rather than failing the whole page.
            for name in list(self.errors):
                self.cleaned_data.pop(name, None)
        return valid
