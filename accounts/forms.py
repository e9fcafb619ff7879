"""Forms for the accounts screens: login, Book filters, touchpoint and pulse logging."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from core.validation import validate_date_range

from .models import (
    NOTE_TEXT_MAX_LENGTH,
    PULSE_NOTE_MAX_LENGTH,
    PULSE_RUBRIC,
    TOUCHPOINT_SUMMARY_MAX_LENGTH,
    Contact,
    Customer,
    LifecycleStage,
    Sentiment,
    TouchpointKind,
)
from .selectors import BOOK_SORTS, HEALTH_BANDS, RENEWAL_WINDOWS, BookScope
from .services import validate_not_in_future


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email", "placeholder": "you@company.com"}
        ),
    )


class BookFilterForm(forms.Form):
    """The Book's GET parameters. Invalid values are dropped (a stale bookmark still opens the Book)."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    csm = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="CSM")
    segment = forms.ChoiceField(required=False, label="Segment")
    stage = forms.ChoiceField(
        required=False, label="Lifecycle stage", choices=[("", "All stages"), *LifecycleStage.choices]
    )
    renewal = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Renewal",
        choices=[("", "Any time"), *[(str(d), f"Within {d} days") for d in RENEWAL_WINDOWS]],
    )
    band = forms.ChoiceField(required=False, label="Health", choices=[("", "Any health"), *HEALTH_BANDS])
    sort = forms.ChoiceField(
        required=False,
        choices=[(k, k) for key in BOOK_SORTS for k in (key, f"-{key}")],
    )

    def __init__(self, data, *, scope: BookScope, segments: list[str]) -> None:
        super().__init__(data)
        self.scope = scope
        people = list(scope.choices)
        if scope.owner is not None and scope.owner not in people:
            people.append(scope.owner)
        self.fields["csm"].choices = [("", scope.everyone_label)] + [
            (str(u.pk), u.get_full_name()) for u in people
        ]
        self.fields["segment"].choices = [("", "All segments")] + [(s, s) for s in segments]

    def value(self, name: str):
        """The cleaned value, or None when the parameter is missing or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or None


class ContactChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return obj.name or obj.email


class TouchpointForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=[("", "Choose a type…"), *TouchpointKind.choices])
    occurred_at = forms.DateTimeField(
        label="When",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_not_in_future, validate_date_range],
    )
    sentiment = forms.ChoiceField(
        label="Sentiment", required=False, choices=[("", "Not recorded"), *Sentiment.choices]
    )
    summary = forms.CharField(
        label="Summary",
        max_length=TOUCHPOINT_SUMMARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What was discussed, decided, or promised?"}),
    )
    contacts = ContactChoiceField(
        label="Contacts involved",
        required=False,
        queryset=Contact.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        # The customer page holds several forms (and other apps' panels): ids must not collide.
        kwargs.setdefault("auto_id", "touchpoint_%s")
        kwargs.setdefault("initial", {}).setdefault(
            "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
        )
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["contacts"].queryset = customer.contacts.all()
        self.fields["summary"].error_messages["required"] = "Write a short summary of what happened."
        self.fields["kind"].error_messages["required"] = "Choose the type of touchpoint."


class PulseForm(forms.Form):
    score = forms.TypedChoiceField(
        label="Pulse",
        coerce=int,
        choices=[(str(score), f"{score}") for score in PULSE_RUBRIC],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Pick a score from 1 to 5.",
            "invalid_choice": "Pick a score from 1 to 5 (%(value)s is not on the scale).",
        },
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=PULSE_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why this score? What changed?"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "pulse_%s")  # unique ids on the customer page (see TouchpointForm)
        super().__init__(*args, **kwargs)

    def rubric_choices(self) -> list[tuple[str, int, str, bool]]:
        """(value, score, rubric text, checked) for the template's radio list."""
        current = str(self["score"].value() or "")
        return [(str(s), s, text, current == str(s)) for s, text in PULSE_RUBRIC.items()]


class TouchpointEditForm(TouchpointForm):
    """Editing a logged touchpoint: what it was, when, how it went, what was said (contacts stay)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "touchpoint_edit_%s")
        super().__init__(*args, **kwargs)
        del self.fields["contacts"]


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        max_length=NOTE_TEXT_MAX_LENGTH,
        error_messages={"required": "Write the note."},
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Context, decisions, next steps… @name to mention"}
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "note_%s")  # unique ids on the customer page (see TouchpointForm)
        super().__init__(*args, **kwargs)


class SearchForm(forms.Form):
    q = forms.CharField(
        max_length=200, strip=True, error_messages={"required": "Type something to search for."}
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What uses it, e.g. “Stripe sync” or “BI export”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")],
    )
