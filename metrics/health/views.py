"""The health model editor (docs/architecture.md#roles-and-permissions: managers and admins): edit, preview
on today's data, save."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Customer
from accounts.visibility import can_edit_configuration, can_manage_customer, is_admin
from core import ui

from ..models import BacktestKind, HealthBacktestJob, HealthModel, RecomputeState
from .backtest_jobs import backtest_job_latest_of_model, default_range
from .engine import ModelConfig
from .forms import HealthModelForm
from .live import health_recompute_now, recompute_progress
from .preview_jobs import preview_begin, preview_job
from .services import health_model_create, health_model_current


@login_required
@require_http_methods(["GET", "POST"])
def health_model(request: HttpRequest) -> HttpResponse:
    if not can_edit_configuration(request.user):
        raise PermissionDenied("Only managers and admins edit the health model.")
    current = health_model_current()
    form = HealthModelForm(request.POST or None, base=current)
    job = None
    fit = _fit_of(request) if request.method == "GET" and "fit" in request.GET else None
    if fit is not None:
        form.propose(
            fit.result["model"], note=f"Fitted on {fit.start.isoformat()}\u2013{fit.end.isoformat()}"
        )
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "save":
            if not form.cleaned_data["note"]:
                form.add_error("note", "Say why: the note is shown on every health chart.")
            else:
                model = health_model_create(
                    factors=form.factors(),
                    green=form.cleaned_data["green"],
                    yellow=form.cleaned_data["yellow"],
                    margin=form.cleaned_data["margin"],
                    note=form.cleaned_data["note"],
                    user=request.user,
                )
                messages.success(
                    request,
                    f"Saved health model v{model.version}. Every customer's health for today is being "
                    "recomputed with it now (docs: live data).",
                )
                return redirect("health_model")
        else:
            # A background job (inline when tasks run eagerly): the page shows it running, then its result.
            job = preview_begin(user=request.user, current=ModelConfig.of(current), proposal=form.config())
    versions = HealthModel.objects.select_related("created_by").order_by("-version")[:20]
    start, end = default_range()
    context = {
        "form": form,
        "current": current,
        "job": job,
        "versions": versions,
        "fit": fit,
        "backtest": backtest_job_latest_of_model(model=current),
        "backtest_range": (start, end),
        "can_recompute_all": is_admin(request.user),
    }
    return render(request, "metrics/health/model.html", context)


def _fit_of(request: HttpRequest) -> HealthBacktestJob:
    """`?fit=<id>`: a finished fit whose proposal opens in the editor; 404 otherwise."""
    job = HealthBacktestJob.objects.filter(
        pk=ui.int_param(request, "fit") or 0, kind=BacktestKind.FIT, state=RecomputeState.DONE
    ).first()
    if job is None or not job.result:
        raise Http404("No such fit.")
    return job


@login_required
@require_http_methods(["GET"])
def health_model_preview(request: HttpRequest, key: str) -> HttpResponse:
    """A preview job's card (htmx polls it until done), or a page of its own without JavaScript."""
    if not can_edit_configuration(request.user):
        raise PermissionDenied("Only managers and admins edit the health model.")
    job = preview_job(key=key, user=request.user)
    response = ui.render_page(request, "metrics/health/preview.html", {"job": job}, partial="card")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def health_recompute_all(request: HttpRequest) -> HttpResponse:
    """Admins: recompute every customer's health for today now (POST), and follow it (GET; htmx polls the
    progress card until no customer waits)."""
    if not is_admin(request.user):
        raise PermissionDenied("Only admins may recompute every customer's health.")
    if request.method == "POST":
        health_recompute_now(user=request.user)
        return redirect("health_recompute_all")
    response = ui.render_page(
        request, "metrics/health/recompute_now.html", {"progress": recompute_progress()}, partial="progress"
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def customer_health_recompute(request: HttpRequest, external_id: str) -> HttpResponse:
    """Managers of the customer's team and admins: recompute this customer's health for today now."""
    customer = get_object_or_404(Customer, external_id=external_id)
    if not can_manage_customer(request.user, customer):
        raise PermissionDenied("Only managers of this customer's team and admins may recompute its health.")
    health_recompute_now(user=request.user, customer=customer)
    messages.success(
        request, f"{customer.name}'s health is being recomputed; this page shows it in a moment."
    )
    return redirect(customer.get_absolute_url())
