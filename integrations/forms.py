"""Forms of the integrations screens: the CSV upload."""

from __future__ import annotations

from django import forms

from .csv_import import KINDS
from .services import IMPORT_MAX_BYTES


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
