"""Forms of the integrations screens: the CSV upload."""

from __future__ import annotations

from django import forms

from .csv_import import KINDS


class CsvImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.name, k.label) for k in KINDS.values()])
    file = forms.FileField(help_text="UTF-8 CSV; the first line names the columns.")
