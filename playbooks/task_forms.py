"""Forms of tasks of one's own (docs/workspace.md#own-tasks): validation only; playbooks.services writes."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User
from core.validation import validate_date_range

from .services.own_tasks import TITLE_MAX


class PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name()


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_date_range],
    )


class TaskAddForm(forms.Form):
    title = forms.CharField(label="Task", max_length=TITLE_MAX)
    due_date = _date("Due")
    assignee = PersonField(label="For", queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "task_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class TaskSnoozeForm(forms.Form):
    until = _date("Snooze until")


class TaskReassignForm(forms.Form):
    assignee = PersonField(label="Reassign to", queryset=User.objects.none())

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
