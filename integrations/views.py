"""HTML screens of integrations: the CSV import page and an import's progress and result page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.visibility import can_ingest
from core import ui

from .csv_import import KINDS
from .forms import CsvImportForm
from .models import ImportJob
from .samples import sample_csv, sample_path
from .services import import_job_create


@login_required
@require_http_methods(["GET", "POST"])
def import_csv(request: HttpRequest) -> HttpResponse:
    """CSV import for admins (docs/architecture.md#roles-and-permissions): the upload becomes a background
    job (docs/operations.md#csv-import), and the browser goes to its page."""
    if not can_ingest(request.user):
        raise PermissionDenied("Only admins can import data.")
    status = 200
    if request.method == "POST":
        form = CsvImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            job = import_job_create(
                user=request.user, kind=form.cleaned_data["kind"], file=upload, filename=upload.name or ""
            )
            return redirect("import_job", job_id=job.pk)
        status = 400
    else:
        form = CsvImportForm()
    recent = ImportJob.objects.defer("data", "errors").select_related("requested_by")[:10]
    return render(
        request,
        "integrations/import.html",
        {"form": form, "kinds": KINDS, "recent": recent, "samples": {k for k in KINDS if sample_path(k)}},
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """An import's progress (htmx polls the card until it ends) and then its result: the counts, or the
    table of errors and "nothing was written"."""
    if not can_ingest(request.user):
        raise PermissionDenied("Only admins can import data.")
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=job_id)
    response = ui.render_page(
        request, "integrations/import_job.html", {"job": job, "kind": KINDS.get(job.kind)}, partial="card"
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def import_sample(request: HttpRequest, kind: str) -> HttpResponse:
    """A sample CSV of `kind`, its dates moved so the newest is today (integrations/samples.py)."""
    if not can_ingest(request.user):
        raise PermissionDenied("Only admins can import data.")
    text = sample_csv(kind, today=timezone.localdate())
    if text is None:
        raise Http404("No sample of that kind.")
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
    return response
