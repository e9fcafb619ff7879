"""HTML screens of integrations: the CSV import page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.visibility import can_ingest

from .csv_import import KINDS, csv_import
from .forms import CsvImportForm


@login_required
@require_http_methods(["GET", "POST"])
def import_csv(request: HttpRequest) -> HttpResponse:
    """CSV import for admins (docs/architecture.md#roles-and-permissions): a table of errors and nothing
    written, or the counts."""
    if not can_ingest(request.user):
        raise PermissionDenied("Only admins can import data.")
    result = None
    status = 200
    if request.method == "POST":
        form = CsvImportForm(request.POST, request.FILES)
        if form.is_valid():
            result = csv_import(kind=form.cleaned_data["kind"], file=form.cleaned_data["file"])
            if not result.ok:
                status = 400
        else:
            status = 400
    else:
        form = CsvImportForm()
    return render(
        request, "integrations/import.html", {"form": form, "result": result, "kinds": KINDS}, status=status
    )
