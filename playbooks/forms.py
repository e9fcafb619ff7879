"""Forms for the playbook screens. They validate input only; services do the writes."""

from __future__ import annotations

from django import forms

from accounts.models import LifecycleStage, TouchpointKind

from .models import Condition, NotifyMode, Playbook, RunStatus
from .triggers import MODULES

NOTE_WIDGET = forms.Textarea(attrs={"rows": 2, "placeholder": "What happened? (optional)"})


class TaskNoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, widget=NOTE_WIDGET, label="Note")


class RunCloseForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(RunStatus.DONE, "Done"), (RunStatus.CANCELLED, "Cancelled")], label="Outcome"
    )
    outcome_note = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label="Outcome note"
    )


class PlaybookForm(forms.Form):
    name = forms.CharField(max_length=150)
    purpose = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    enabled = forms.BooleanField(
        required=False, initial=True, help_text="Triggers start only enabled playbooks."
    )


class StepForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=200)
    guidance = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    due_after_days = forms.IntegerField(min_value=0, max_value=365, required=False, label="Due after (days)")
    required_touchpoint_kind = forms.ChoiceField(
        required=False,
        choices=[("", "No touchpoint needed"), *TouchpointKind.choices],
        label="Completes with a logged",
    )


StepFormSet = forms.formset_factory(StepForm, extra=1, can_delete=True, min_num=1, validate_min=True)


# Parameter fields of every condition: (label, kind, help). Each condition shows the ones in its DEFAULTS.
PARAM_FIELDS: dict[str, tuple[str, str, str]] = {
    "band": ("Band", "band", "The band whose entry starts the playbook."),
    "points": ("Points", "int", "How many health points the score must drop."),
    "days": ("Days", "int", ""),
    "max_score": ("Highest score that counts", "int", ""),
    "within_days": ("Within (days)", "int", "Only answers / starts this recent count."),
    "percent": ("Drop (%)", "int", "Events in the last 30 days vs the 30 before."),
    "min_events": ("Minimum events before", "int", "Ignore customers with less usage than this before."),
    "utilization": ("Utilization below", "float", "A fraction: 0.3 = 30 % of licenses active."),
    "grace_days": ("Grace after go-live (days)", "int", ""),
}


class TriggerForm(forms.Form):
    condition = forms.ChoiceField(choices=[("", "Choose a condition…"), *Condition.choices])
    enabled = forms.BooleanField(required=False, initial=True)
    cooldown_days = forms.IntegerField(
        min_value=0,
        max_value=3650,
        initial=30,
        help_text="After a run of this playbook closes, no new run for the customer for this many days.",
    )

    def __init__(self, *args, condition: str = "", initial_params: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.condition = condition or (self.data.get("condition") if self.is_bound else "") or ""
        module = MODULES.get(self.condition)
        params = {**(module.DEFAULTS if module else {}), **(initial_params or {})}
        self.param_names = list(module.DEFAULTS) if module else []
        for name in self.param_names:
            label, kind, help_text = PARAM_FIELDS[name]
            if kind == "band":
                field = forms.ChoiceField(choices=[("red", "Red"), ("yellow", "Yellow")])
            elif kind == "float":
                field = forms.FloatField()
            else:
                field = forms.IntegerField()
            field.label, field.help_text, field.initial = label, help_text, params.get(name)
            self.fields[f"p_{name}"] = field

    @property
    def param_fields(self):
        return [self[f"p_{name}"] for name in self.param_names]

    def params(self) -> dict:
        return {name: self.cleaned_data.get(f"p_{name}") for name in self.param_names}


class NotificationForm(forms.Form):
    mode = forms.ChoiceField(
        choices=NotifyMode.choices, widget=forms.RadioSelect, label="Email me about new runs"
    )


class AssignFilterForm(forms.Form):
    """The bulk-assign page's customer filters (GET). Invalid values are dropped."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    segment = forms.ChoiceField(required=False, label="Segment")
    csm = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="CSM")
    stage = forms.ChoiceField(
        required=False, choices=[("", "All stages"), *LifecycleStage.choices], label="Stage"
    )
    band = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any health"),
            ("red", "Red"),
            ("yellow", "Yellow"),
            ("green", "Green"),
            ("none", "No score"),
        ],
        label="Health band",
    )

    def __init__(self, data, *, segments: list[str], csms: list) -> None:
        super().__init__(data)
        self.fields["segment"].choices = [("", "All segments")] + [(s, s) for s in segments]
        self.fields["csm"].choices = [("", "Any CSM")] + [(str(u.pk), u.get_full_name()) for u in csms]

    def value(self, name: str):
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or None


class AssignForm(forms.Form):
    playbook = forms.ModelChoiceField(queryset=Playbook.objects.filter(enabled=True).order_by("name"))
    note = forms.CharField(required=False, max_length=200, label="Why (optional)")
