"""Forms of editing in the app (docs/workspace.md#editing-in-the-app): validation only; accounts.editing
writes."""

from __future__ import annotations

from typing import Any

from django import forms

from core.validation import validate_date_range

from .models import LifecycleStage, Role, Team, User
from .serializers import MAX_LICENSES

UNASSIGN = "none"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name()


class CustomerEditForm(forms.Form):
    """A customer's editable fields, on its page."""

    csm = PersonChoiceField(
        label="CSM", queryset=User.objects.none(), required=False, empty_label="Unassigned"
    )
    renewal_date = forms.DateField(
        label="Renewal date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_date_range],
    )
    lifecycle_stage = forms.ChoiceField(label="Lifecycle stage", choices=LifecycleStage.choices)
    licenses = forms.IntegerField(label="Licenses", min_value=0, max_value=MAX_LICENSES)
    segment = forms.CharField(label="Segment", required=False, max_length=50)

    def __init__(self, *args: Any, csms: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "edit_%s")
        super().__init__(*args, **kwargs)
        self.fields["csm"].queryset = csms


class ContactForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    name = forms.CharField(label="Name", required=False, max_length=150)
    title = forms.CharField(label="Title", required=False, max_length=150)

    def __init__(self, *args: Any, prefix: str = "contact", **kwargs: Any) -> None:
        super().__init__(*args, prefix=prefix, **kwargs)


class BulkEditForm(forms.Form):
    """The Book's bulk edit: which customers (the ticked ones, or all that match the filters) and the fields
    to set; an empty field is left unchanged."""

    target = forms.ChoiceField(choices=[("selected", "Selected"), ("matching", "All matching")])
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    csm = forms.ChoiceField(label="CSM", required=False)
    renewal_date = forms.DateField(
        label="Renewal date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_date_range],
    )
    lifecycle_stage = forms.ChoiceField(
        label="Lifecycle stage", required=False, choices=[("", "Leave unchanged"), *LifecycleStage.choices]
    )
    licenses = forms.IntegerField(label="Licenses", required=False, min_value=0, max_value=MAX_LICENSES)
    segment = forms.CharField(label="Segment", required=False, max_length=50)

    def __init__(self, *args: Any, csms: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.people = {str(u.pk): u for u in csms}
        self.fields["csm"].choices = [
            ("", "Leave unchanged"),
            (UNASSIGN, "Unassigned"),
            *[(pk, u.get_full_name()) for pk, u in self.people.items()],
        ]
        # Any id is accepted here; accounts.editing checks each against what the user may edit.
        self.fields["ids"].choices = [(v, v) for v in self.data.getlist("ids")] if self.data else []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("target") == "selected" and not data.get("ids"):
            raise forms.ValidationError("Tick at least one customer, or choose all matching customers.")
        if not self.changes():
            raise forms.ValidationError("Choose at least one field to change.")
        return data

    def changes(self) -> dict[str, Any]:
        data = getattr(self, "cleaned_data", {})
        out: dict[str, Any] = {}
        if data.get("csm"):
            out["csm"] = None if data["csm"] == UNASSIGN else self.people[data["csm"]]
        for name in ("renewal_date", "lifecycle_stage", "segment"):
            if data.get(name):
                out[name] = data[name]
        if data.get("licenses") is not None:
            out["licenses"] = data["licenses"]
        return out

    def describe(self) -> list[str]:
        """The changes in words, for the confirmation."""
        words = []
        for name, value in self.changes().items():
            label = self.fields[name].label
            if name == "csm":
                value = value.get_full_name() if value else "Unassigned"
            elif name == "lifecycle_stage":
                value = LifecycleStage(value).label
            words.append(f"{label} → {value}")
        return words


# --- Users and teams (admins) ---


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name()


class TeamsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            queryset=Team.objects.order_by("name"),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    full_name = forms.CharField(label="Name", required=False, max_length=150)
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    teams = TeamsField(label="Teams")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "invite_%s")
        super().__init__(*args, **kwargs)


class UserEditForm(forms.Form):
    full_name = forms.CharField(label="Name", required=False, max_length=150)
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    teams = TeamsField(label="Teams")


class TeamForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    manager = PersonChoiceField(label="Manager", queryset=User.objects.none(), required=False)
    members = PeopleChoiceField(
        label="Members", queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "team_%s")
        super().__init__(*args, **kwargs)
        active = User.objects.filter(is_active=True).order_by("full_name", "email")
        self.fields["manager"].queryset = active.exclude(role=Role.CSM)
        self.fields["members"].queryset = active
