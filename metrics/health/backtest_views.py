"""The backtest page and the fit's proposal page (docs/health.md#backtest-page-and-job). Managers and admins
run a backtest; CSMs may view one already computed; fitting is for those who edit the model
(docs/architecture.md#roles-and-permissions)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.visibility import can_edit_configuration, can_run_backtest, can_view_backtest
from core import ui

from ..models import BacktestKind, HealthBacktestJob, RecomputeState
from .backtest_jobs import (
    backtest_job_ask,
    backtest_job_for_user,
    backtest_job_latest,
    backtest_job_latest_of_model,
    default_range,
    question_validate,
)
from .backtest_report import fit_view, report_view
from .forms import BacktestForm
from .panels import chart_js
from .services import health_model_current


def _job(request: HttpRequest, job_id: int | None, *, kind: str) -> HealthBacktestJob:
    try:
        job = backtest_job_for_user(user=request.user, job_id=job_id or 0)
    except HealthBacktestJob.DoesNotExist as exc:
        raise Http404("No such job.") from exc
    if job.kind != kind:
        raise Http404("No such job.")
    return job


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    job = context.get("job")
    if job is not None and job.state == RecomputeState.DONE and job.result:
        if job.kind == BacktestKind.FIT:
            context["fit"] = fit_view(job.result, current=job.model)
        else:
            context["view"] = report_view(job.result)
    response = ui.render_page(request, template, context, partial="job")
    if job is not None and job.running:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def health_backtest(request: HttpRequest) -> HttpResponse:
    """The form (from, to, version); the job's progress while it runs; then the report's tables and chart.
    `?job=<id>` shows one job (the progress card polls it); a POST computes again (managers, admins)."""
    if not can_view_backtest(request.user):
        raise PermissionDenied("Sign in to see the backtest.")
    job = None
    missing = False
    if request.method == "POST":
        form = BacktestForm(request.POST)
        if form.is_valid():
            job = backtest_job_ask(user=request.user, question=form.cleaned_data["question"], refresh=True)
            return redirect(f"{reverse('health_backtest')}?job={job.pk}")
    elif "job" in request.GET:
        job = _job(request, ui.int_param(request, "job"), kind=BacktestKind.BACKTEST)
        version = job.model.version if job.model else None  # None: an unsaved proposal
        form = BacktestForm(initial={"start": job.start, "end": job.end, "model": version})
    elif {"start", "end", "model"} & set(request.GET):
        form = BacktestForm(request.GET)
        if form.is_valid():
            question = form.cleaned_data["question"]
            if can_run_backtest(request.user):
                job = backtest_job_ask(user=request.user, question=question)
                if job.running:  # inline when tasks run eagerly: show the job as it is after the commit
                    job = backtest_job_for_user(user=request.user, job_id=job.pk)
            else:
                job = backtest_job_latest(question)
                missing = job is None
    else:
        current = health_model_current()
        start, end = default_range()
        form = BacktestForm(initial={"start": start, "end": end, "model": current.version})
        job = backtest_job_latest_of_model(model=current)
    context = {
        "form": form,
        "job": job,
        "missing": missing,
        "can_run": can_run_backtest(request.user),
        "chart_js": chart_js(),
    }
    status = 400 if form.is_bound and form.errors else 200
    response = _render(request, "metrics/health/backtest.html", context)
    response.status_code = status
    return response


@login_required
@require_POST
def health_model_fit(request: HttpRequest) -> HttpResponse:
    """Start a fit of the default range (default_range) against the version in force; to its page."""
    if not can_edit_configuration(request.user):
        raise PermissionDenied("Only managers and admins fit the health model.")
    question = question_validate(kind=BacktestKind.FIT, start=None, end=None, version=None)
    job = backtest_job_ask(user=request.user, question=question, refresh=True)
    return redirect("health_model_fit_job", job_id=job.pk)


@login_required
@require_http_methods(["GET"])
def health_model_fit_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """A fit's progress, then its proposal beside the version in force, with the way into the editor."""
    if not can_edit_configuration(request.user):
        raise PermissionDenied("Only managers and admins fit the health model.")
    job = _job(request, job_id, kind=BacktestKind.FIT)
    return _render(request, "metrics/health/fit.html", {"job": job})
