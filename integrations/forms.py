"""Forms of the integrations screens: the CSV upload, outbound webhook endpoints, Slack channels."""

from __future__ import annotations

from django import forms

from .csv_import import KINDS
from .services import IMPORT_MAX_BYTES
from .slack.services import masked
from .webhooks.services import WEBHOOK_EVENTS


class CsvImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.name, k.label) for k in KINDS.values()])
    file = forms.FileField(help_text="UTF-8 CSV; the first line names the columns.")

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {file.size / 2**20:.0f} MB; the page takes up to"
                f" {IMPORT_MAX_BYTES // 2**20} MB. Split it, or use manage.py import_csv."
            )
        return file


# --- Outbound webhooks and Slack (docs/integrations.md#the-integrations-page)


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        help_text="cshub POSTs signed JSON here (Standard Webhooks headers).",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in WEBHOOK_EVENTS], widget=forms.CheckboxSelectMultiple, label="Events"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class SlackChannelsForm(forms.Form):
    """One URL field per team and the default, left empty to keep what is set (it is never shown back),
    and a "remove" box beside each that is set."""

    def __init__(self, *args, default=None, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = [("default", None, default), *((f"team_{t.pk}", t, c) for t, c in teams)]
        for key, team, channel in self.targets:
            self.fields[key] = forms.URLField(
                label=team.name if team else "Default channel",
                max_length=500,
                required=False,
                assume_scheme="https",
                help_text=(
                    f"Set: {masked(channel.webhook_url)}. Paste a new URL to replace it."
                    if channel
                    else "Not set. Paste the channel's incoming-webhook URL (https://hooks.slack.com/services/…)."
                ),
            )
            if channel:
                self.fields[f"remove_{key}"] = forms.BooleanField(required=False, label="Remove")

    def changes(self) -> list[tuple[object, str]]:
        """(team or None, new URL or "" to remove) for each target the admin changed."""
        out = []
        for key, team, channel in self.targets:
            url = self.cleaned_data.get(key) or ""
            if url:
                out.append((team, url))
            elif channel and self.cleaned_data.get(f"remove_{key}"):
                out.append((team, ""))
        return out

    def rows(self):
        """(field, remove field or None) per target, for the template."""
        return [
            (self[key], self[f"remove_{key}"] if f"remove_{key}" in self.fields else None)
            for key, _, _ in self.targets
        ]
