"""Signed-in survey pages: results (managers, CSMs); campaign new -> preview -> send (managers, admins)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.visibility import is_manager_or_admin
from core import exports
from core.ui import HtmxHttpRequest

from ..forms import CampaignForm, ResultsFilterForm
from ..models import BAND_LABELS, Campaign, Kind, SurveyKind
from ..scores import distribution, monthly_scores, survey_score
from ..selectors import (
    campaign_customers,
    campaign_preview,
    campaigns_with_rates,
    comments_feed,
    invitation_counts,
    responses_filtered,
)
from ..services import campaign_send, default_question

KINDS = [Kind.NPS, Kind.CSAT, Kind.CES]
COLOURS = {"negative": "red", "neutral": "yellow", "positive": "green"}


@cache
def chart_js() -> str | None:
    """The vendored Chart.js (static/vendor/chart-<version>.min.js), whichever version is there."""
    found = sorted(Path(settings.BASE_DIR, "static", "vendor").glob("chart-*.min.js"))
    return f"vendor/{found[-1].name}" if found else None


def _every_month(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of each calendar month from `start`'s to `end`'s."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _filters(request: HttpRequest) -> ResultsFilterForm:
    form = ResultsFilterForm(request.GET or None)
    form.is_valid()
    return form


def _responses(form: ResultsFilterForm, *, start: dt.date | None, end: dt.date | None) -> QuerySet:
    data = getattr(form, "cleaned_data", {}) or {}
    return responses_filtered(start=start, end=end, segment=data.get("segment") or "", csm=data.get("csm"))


@login_required
@vary_on_headers("HX-Request")
def results(request: HttpRequest) -> HttpResponse:
    """NPS, CSAT and CES by month, distributions, campaigns and the comments feed (every signed-in user)."""
    form = _filters(request)
    months = int((getattr(form, "cleaned_data", {}) or {}).get("months") or 12)
    end = timezone.localdate()
    start = _months_back(end, months)
    responses = _responses(form, start=start, end=end)

    totals = {kind: survey_score(responses, kind=kind) for kind in KINDS}
    series = {kind: monthly_scores(responses, kind=kind) for kind in KINDS}
    month_keys = sorted({m.month for rows in series.values() for m in rows})
    by_month = {kind: {m.month: m.score for m in rows} for kind, rows in series.items()}
    table = [{"month": month, "cells": [by_month[kind].get(month) for kind in KINDS]} for month in month_keys]
    distributions = []
    for kind in KINDS:
        counts = distribution(responses, kind=kind)
        top = max(counts.values()) or 1
        distributions.append(
            {
                "kind": kind,
                "label": Kind(kind).label,
                "total": sum(counts.values()),
                "rows": [
                    {"score": score, "n": n, "pct": round(100 * n / top)}
                    for score, n in sorted(counts.items(), reverse=True)
                ],
            }
        )
    # The chart has every month of the period, evenly spaced, and a gap (null) where nobody answered: only the
    # months with answers drew Jan → Nov as wide as Nov → Dec, and a line across the silent months.
    chart_months = _every_month(start, end)
    chart = {
        "labels": [m.strftime("%b %Y") for m in chart_months],
        "nps": [_num(by_month[Kind.NPS].get(m)) for m in chart_months],
        "csat": [_num(by_month[Kind.CSAT].get(m)) for m in chart_months],
        "ces": [_num(by_month[Kind.CES].get(m)) for m in chart_months],
    }
    if exports.wants_csv(request, "months"):
        return exports.csv_response("survey-scores-by-month", _MONTH_COLUMNS, table)
    if exports.wants_csv(request, "distribution"):
        rows = [(d["kind"], r["score"], r["n"]) for d in distributions for r in d["rows"]]
        return exports.csv_response("survey-distribution", _DISTRIBUTION_COLUMNS, rows)
    campaigns = campaigns_with_rates(limit=12)
    if exports.wants_csv(request, "campaigns"):
        return exports.csv_response("survey-campaigns", _CAMPAIGN_COLUMNS, campaigns)
    context = {
        "form": form,
        "start": start,
        "end": end,
        "tiles": [{"kind": kind, "label": Kind(kind).label, "score": totals[kind]} for kind in KINDS],
        "table": table,
        "chart": chart,
        "chart_js": chart_js(),
        "distributions": distributions,
        "campaigns": campaigns,
        "can_send": is_manager_or_admin(request.user),
        **_comments_context(request, form),
    }
    return render(request, "surveys/results.html", context)


def _cell(kind_index: int, field: str):
    return lambda row: getattr(row["cells"][kind_index], field) if row["cells"][kind_index] else None


# CSV exports of the results tables (core.exports): the same rows as the page, with the filters applied.
_MONTH_COLUMNS: list[exports.Column] = [("month", lambda row: row["month"])] + [
    col
    for i, kind in enumerate(KINDS)
    for col in ((kind, _cell(i, "score")), (f"{kind}_responses", _cell(i, "responses")))
]
_DISTRIBUTION_COLUMNS: list[exports.Column] = [
    ("kind", lambda r: r[0]),
    ("score", lambda r: r[1]),
    ("answers", lambda r: r[2]),
]
_CAMPAIGN_COLUMNS: list[exports.Column] = [
    ("sent_at", lambda c: c.created_at),
    ("kind", lambda c: c.kind),
    ("audience", lambda c: c.selection),
    ("delivered", lambda c: c.delivered),
    ("answered", lambda c: c.answered),
    ("response_rate", lambda c: c.response_rate),
]


@login_required
@vary_on_headers("HX-Request")
def comments(request: HtmxHttpRequest) -> HttpResponse:
    """The comments feed alone (htmx swaps it in; without JavaScript it is a full page)."""
    form = _filters(request)
    context = {"form": form, **_comments_context(request, form)}
    template = "surveys/results.html#comments" if request.htmx else "surveys/comments.html"
    return render(request, template, context)


def _comments_context(request: HttpRequest, form: ResultsFilterForm) -> dict:
    data = getattr(form, "cleaned_data", {}) or {}
    feed = comments_feed(
        responses=_responses(form, start=None, end=None),
        band=data.get("band") or "",
        kind=data.get("kind") or "",
    )
    page = Paginator(feed, 20).get_page(request.GET.get("page"))
    for answer in page.object_list:
        answer.colour = COLOURS[answer.band]
        answer.band_label = BAND_LABELS[answer.kind][answer.band]
    return {"comments_page": page}


def _months_back(end: dt.date, months: int) -> dt.date:
    year, month = end.year, end.month - months + 1
    while month <= 0:
        month += 12
        year -= 1
    return dt.date(year, month, 1)


def _num(score) -> float | None:
    return None if score is None else score.score


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    """Kind and customers -> preview recipients and skips -> send (managers: their teams; admins: all)."""
    if not is_manager_or_admin(request.user):
        raise PermissionDenied("Only managers and admins can send survey campaigns.")
    form = CampaignForm(request.POST or None, user=request.user)
    context: dict = {"form": form, "questions": {k: default_question(k) for k in KINDS}}
    if request.method == "POST" and request.POST.get("action") == "edit":
        form.is_valid()  # back from the preview: the form again, as it was filled in
        return render(request, "surveys/campaign_new.html", context)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customers = list(
            campaign_customers(
                user=request.user,
                customer_ids=[c.pk for c in data["customers"]],
                segment=data["segment"],
                csm=data["csm"],
                lifecycle_stage=data["lifecycle_stage"],
            )
        )
        if not customers:
            form.add_error(None, "No customer matches this selection.")
        elif request.POST.get("action") == "send":
            result = campaign_send(
                user=request.user,
                kind=data["kind"],
                customers=customers,
                question=data["question"],
                selection=form.selection_label(),
            )
            messages.success(
                request,
                f"Campaign queued: {result.queued} invitation(s); {sum(result.skipped.values())} skipped.",
            )
            return redirect("surveys:campaign_detail", pk=result.campaign.pk)
        else:
            preview = campaign_preview(customers=customers)
            context.update(
                preview=preview,
                customer_count=len(customers),
                question=data["question"] or default_question(data["kind"]),
                kind=SurveyKind.objects.for_kind(data["kind"]),
            )
            return render(request, "surveys/campaign_preview.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "surveys/campaign_new.html", context, status=status)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("created_by"), pk=pk)
    invitations = campaign.invitations.select_related("contact", "customer").order_by(
        "customer__name", "contact__email"
    )
    page = Paginator(invitations, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "surveys/campaign_detail.html",
        {"campaign": campaign, "counts": invitation_counts(campaign=campaign), "page": page},
    )
