"""HTML screens of integrations: the CSV import page and an import's progress and result page; the
Integrations page, outbound webhook endpoints with their delivery logs, Slack channels."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.visibility import can_ingest
from core import ui

from .csv_import import KINDS
from .forms import CsvImportForm, SlackChannelsForm, WebhookEndpointForm
from .models import DeliveryState, ImportJob, WebhookDelivery
from .samples import sample_csv, sample_path
from .selectors import (
    check_can_manage,
    integrations_overview,
    slack_teams,
    webhook_deliveries,
    webhook_endpoint_for_user,
    webhook_endpoints,
)
from .services import import_job_create
from .slack.services import slack_channel_set
from .webhooks.services import (
    webhook_delivery_resend,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)


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


# --- The Integrations page, outbound webhooks and Slack (docs/integrations.md#the-integrations-page) -------


@login_required
@require_http_methods(["GET"])
def integrations_page(request: HttpRequest) -> HttpResponse:
    """Each connector: configuration state, what to copy, last event, counts in 24 h, the last errors."""
    connectors = integrations_overview(user=request.user)
    return render(request, "integrations/integrations.html", {"connectors": connectors})


@login_required
@require_http_methods(["GET", "POST"])
def slack_settings(request: HttpRequest) -> HttpResponse:
    default, teams = slack_teams(user=request.user)
    form = SlackChannelsForm(request.POST or None, default=default, teams=teams)
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                for team, url in form.changes():
                    slack_channel_set(user=request.user, team=team, webhook_url=url)
            messages.success(request, "Slack channels saved.")
            return redirect("integrations_slack")
        return render(request, "integrations/slack.html", {"form": form}, status=400)
    return render(request, "integrations/slack.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    """The endpoints, and the form that registers one (its signing secret is shown once, on the answer)."""
    endpoints = webhook_endpoints(user=request.user)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            endpoint = webhook_endpoint_create(
                user=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
            return render(request, "integrations/webhook_secret.html", {"endpoint": endpoint}, status=201)
        return render(
            request, "integrations/webhooks.html", {"endpoints": endpoints, "form": form}, status=400
        )
    return render(request, "integrations/webhooks.html", {"endpoints": endpoints, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An endpoint: edit it, and its delivery log with status codes and "resend"."""
    endpoint = webhook_endpoint_for_user(user=request.user, pk=pk)
    initial = {k: getattr(endpoint, k) for k in ("url", "description", "events", "is_active")}
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            webhook_endpoint_update(user=request.user, endpoint=endpoint, **form.cleaned_data)
            messages.success(request, "Endpoint saved.")
            return redirect("integrations_webhook", pk=endpoint.pk)
        status = 400
    state = request.GET.get("state", "")
    if state not in DeliveryState.values:
        state = ""
    deliveries = webhook_deliveries(endpoint=endpoint, page=request.GET.get("page") or 1, state=state)
    context = {
        "endpoint": endpoint,
        "form": form,
        "deliveries": deliveries,
        "state": state,
        "states": DeliveryState,
    }
    return render(request, "integrations/webhook_detail.html", context, status=status)


@login_required
@require_http_methods(["POST"])
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = webhook_endpoint_for_user(user=request.user, pk=pk)
    webhook_endpoint_delete(user=request.user, endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} removed.")
    return redirect("integrations_webhooks")


@login_required
@require_http_methods(["POST"])
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = webhook_endpoint_for_user(user=request.user, pk=pk)
    webhook_endpoint_rotate_secret(user=request.user, endpoint=endpoint)
    return render(request, "integrations/webhook_secret.html", {"endpoint": endpoint, "rotated": True})


@login_required
@require_http_methods(["POST"])
def webhook_resend(request: HttpRequest, pk: int) -> HttpResponse:
    check_can_manage(request.user)
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    webhook_delivery_resend(user=request.user, delivery=delivery)
    messages.success(request, f"Delivery {delivery.msg_id} queued again.")
    return redirect("integrations_webhook", pk=delivery.endpoint_id)


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
