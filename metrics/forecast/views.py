"""HTML screens of a renewal's forecast (docs/renewals.md): its edit page, and the posts of the forms on the
customer page's Renewals card and the Renewals list. Thin: permission (in the services), a form, one
service call, then back where the user came from; bad input re-renders the edit page with a 400."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.visibility import can_edit_customer
from core.numbers import format_money
from core.ui import safe_next

from ..models import Renewal
from ..renewal_rules import at_risk_rate, with_expected
from . import services
from .forms import RenewalForecastForm, RenewalOutcomeForm


def _renewal(pk: int) -> Renewal:
    today = timezone.localdate()
    qs = with_expected(Renewal.objects.select_related("customer", "customer__csm"), at_risk_rate(today))
    return get_object_or_404(qs, pk=pk)


def _back(request: HttpRequest, renewal: Renewal) -> str:
    default = reverse("customer_detail", args=[renewal.customer.external_id]) + "#renewals"
    return safe_next(request, request.POST.get("next") or request.GET.get("next"), default)


def _page(
    request: HttpRequest,
    renewal: Renewal,
    *,
    forecast_form: RenewalForecastForm | None = None,
    outcome_form: RenewalOutcomeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "renewal": renewal,
        "can_edit": can_edit_customer(request.user, renewal.customer),
        "forecast_form": forecast_form
        or RenewalForecastForm(
            initial={
                "category": renewal.category,
                "expected_arr": renewal.expected_arr_override,
                "note": renewal.forecast_note,
            }
        ),
        "outcome_form": outcome_form or RenewalOutcomeForm(initial={"arr": renewal.arr_due}),
        "next": _back(request, renewal),
        "rate": at_risk_rate(timezone.localdate()),
    }
    return render(request, "metrics/forecast/renewal_edit.html", context, status=status)


@login_required
@require_GET
def renewal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One renewal: its forecast and outcome forms (anyone may read; the forms show to who may change)."""
    return _page(request, _renewal(pk))


def _apply_errors(form: Any, exc: ValidationError) -> None:
    names = {"expected_arr": "expected_arr", "category": "category", "arr": "arr", "result": "result"}
    for field, errors in exc.message_dict.items():
        form.add_error(names.get(field), errors)


@login_required
@require_POST
def renewal_forecast_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the renewal's category, expected ARR override and note."""
    renewal = _renewal(pk)
    form = RenewalForecastForm(request.POST)
    if form.is_valid():
        try:
            services.renewal_forecast_set(
                user=request.user,
                renewal=renewal,
                category=form.cleaned_data["category"],
                expected_arr=form.cleaned_data["expected_arr"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Forecast saved for {renewal.customer.name}'s renewal.")
            return redirect(_back(request, renewal))
    return _page(request, renewal, forecast_form=form, status=400)


@login_required
@require_POST
def renewal_outcome_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the outcome (renewed at X, downgraded to X, churned) and, when asked, the MRR ledger change."""
    renewal = _renewal(pk)
    form = RenewalOutcomeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = services.renewal_outcome_record(
                user=request.user,
                renewal=renewal,
                result=data["result"],
                arr=data["arr"],
                write_ledger=data["write_ledger"],
                effective_date=data["effective_date"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            text = (
                f"Outcome recorded for {renewal.customer.name}: {done.renewal.get_outcome_display().lower()}"
            )
            if done.ledger_written:
                text += (
                    f"; MRR {format_money(done.mrr_before)} → {format_money(done.mrr_after)} in the ledger"
                )
            elif data["write_ledger"]:
                text += "; the ledger already had this MRR"
            messages.success(request, text + ".")
            return redirect(_back(request, renewal))
    return _page(request, renewal, outcome_form=form, status=400)
