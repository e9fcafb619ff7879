"""HTML screens of metrics: the Revenue page and the customers behind each number, milestones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Customer
from core import exports
from core.db import reads_from_replica
from core.numbers import format_money_short

from . import services
from .forms import RevenueCustomersForm, RevenueFilterForm, ValueMilestoneForm
from .revenue import CUSTOMER_LISTS, RevenueMetrics, monthly_revenue, revenue_customers, revenue_metrics

# Shown on hover over each tile (docs/metrics.md, in words).
DEFINITIONS = {
    "mrr": "Sum of each customer's MRR on the last day of the period (its latest ledger row up to that day).",
    "arr": "12 x MRR at the end of the period.",
    "nrr": "Customers paying at the start: their MRR at the end ÷ their MRR at the start. "
    "Includes expansion, contraction and churn; excludes new customers.",
    "grr": "Like NRR, but each customer counts at most its starting MRR: expansion is ignored. "
    "Never above 100 %.",
    "churn": "Share of the customers paying at the start who pay nothing at the end.",
    "quick_ratio": "(New + reactivation + expansion MRR) ÷ (churned + contraction MRR). Above 1: growing.",
    "clv": "ARPA x 12 x gross margin ÷ annual customer churn - CAC; "
    "annual churn = churn rate x 365 ÷ days in the period.",
    "expansion": "MRR added by customers who were already paying (upsells, cross-sells, upgrades).",
}


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


# Tiles whose number is a rate over the period: each names the period in words (a 7-day NRR looks like a
# month's otherwise).
RATE_TILES = {"nrr", "grr", "churn", "quick_ratio", "clv", "expansion"}


def _tiles(m: RevenueMetrics, period: str) -> list[dict[str, Any]]:
    tiles = [
        {
            "key": "mrr",
            "label": "MRR",
            "value": format_money_short(m.mrr_end),
            "sub": f"from {format_money_short(m.mrr_start)}",
            "list": "end",
        },
        {
            "key": "arr",
            "label": "ARR",
            "value": format_money_short(m.arr_end),
            "sub": f"{m.customers_end} paying",
            "list": "end",
        },
        {
            "key": "nrr",
            "label": "NRR",
            "value": _pct(m.nrr),
            "sub": f"{m.customers_start} at start",
            "list": "start",
        },
        {"key": "grr", "label": "GRR", "value": _pct(m.grr), "sub": "expansion capped", "list": "start"},
        {
            "key": "churn",
            "label": "Customer churn",
            "value": _pct(m.customer_churn_rate),
            "sub": f"{m.churned_customers} of {m.customers_start} churned",
            "list": "churned",
        },
        {
            "key": "quick_ratio",
            "label": "Quick ratio",
            "value": "—" if m.quick_ratio is None else f"{m.quick_ratio:.2f}",
            "sub": f"{format_money_short(m.new_mrr + m.reactivation_mrr + m.expansion_mrr)} in, "
            f"{format_money_short(m.churned_mrr + m.contraction_mrr)} out",
            "list": "contraction",
        },
        {
            "key": "clv",
            "label": "CLV",
            "value": format_money_short(m.clv),
            "sub": f"ARPA {format_money_short(m.arpa)}",
            "list": "end",
        },
        {
            "key": "expansion",
            "label": "Expansion MRR",
            "value": format_money_short(m.expansion_mrr),
            "sub": f"+ {format_money_short(m.reactivation_mrr)} reactivated",
            "list": "expansion",
        },
    ]
    on_end = f"on {m.end:%b} {m.end.day}, {m.end.year}"
    for tile in tiles:
        tile["definition"] = DEFINITIONS[tile["key"]]
        tile["period"] = period if tile["key"] in RATE_TILES else on_end
    return tiles


def _series(months: list[RevenueMetrics]) -> list[dict[str, Any]]:
    return [
        {
            "month": m.start.strftime("%b %Y"),
            "start": m.start.isoformat(),
            "end": m.end.isoformat(),
            "opening": float(m.mrr_start),
            "new": float(m.new_mrr),
            "expansion": float(m.expansion_mrr),
            "reactivation": float(m.reactivation_mrr),
            "contraction": float(m.contraction_mrr),
            "churn": float(m.churned_mrr),
            "closing": float(m.mrr_end),
            "nrr": None if m.nrr is None else float(round(m.nrr, 4)),
            "grr": None if m.grr is None else float(round(m.grr, 4)),
            "nrr_pct": _pct(m.nrr),
            "grr_pct": _pct(m.grr),
        }
        for m in months
    ]


MONTH_CSV_COLUMNS: list[exports.Column] = [
    ("month_start", lambda m: m.start),
    ("month_end", lambda m: m.end),
    ("mrr_start", lambda m: m.mrr_start),
    ("new_mrr", lambda m: m.new_mrr),
    ("expansion_mrr", lambda m: m.expansion_mrr),
    ("reactivation_mrr", lambda m: m.reactivation_mrr),
    ("contraction_mrr", lambda m: m.contraction_mrr),
    ("churned_mrr", lambda m: m.churned_mrr),
    ("mrr_end", lambda m: m.mrr_end),
    ("nrr", lambda m: m.nrr),
    ("grr", lambda m: m.grr),
]
CUSTOMERS_CSV_COLUMNS: list[exports.Column] = [
    ("external_id", lambda r: r.external_id),
    ("customer", lambda r: r.name),
    ("csm", lambda r: r.csm_name),
    ("segment", lambda r: r.segment),
    ("opening_mrr", lambda r: r.opening),
    ("closing_mrr", lambda r: r.closing),
    ("new", lambda r: r.new),
    ("expansion", lambda r: r.expansion),
    ("reactivation", lambda r: r.reactivation),
    ("contraction", lambda r: r.contraction),
    ("churn", lambda r: r.churn),
]


@login_required
@reads_from_replica()
def revenue(request: HttpRequest) -> HttpResponse:
    """The Revenue page: any signed-in user may read metrics (docs/architecture.md#roles-and-permissions)."""
    query = request.GET.copy()
    for key in ("format", "table"):  # the CSV export link's own parameters (core.exports)
        query.pop(key, None)
    form = RevenueFilterForm(query or None, user=request.user)
    if query and not form.is_valid():
        return render(request, "metrics/revenue.html", {"form": form}, status=400)
    if not query:  # the viewer's own customers over the last complete month
        form = RevenueFilterForm({"period": "month"}, user=request.user)
        form.is_valid()
    data = form.cleaned_data
    m = revenue_metrics(scope=form.scope, start=data["start"], end=data["end"])
    months = monthly_revenue(scope=form.scope, last_month=data["end"], months=12)
    movements = [
        ("New", m.new_mrr, "new", 1),
        ("Expansion", m.expansion_mrr, "expansion", 1),
        ("Reactivation", m.reactivation_mrr, "reactivation", 1),
        ("Contraction", m.contraction_mrr, "contraction", -1),
        ("Churn", m.churned_mrr, "churn", -1),
    ]
    if exports.wants_csv(request, "bridge"):
        bridge = [("Opening MRR", m.mrr_start)] + [
            (label, sign * amount) for label, amount, _k, sign in movements
        ]
        return exports.csv_response(
            "mrr-bridge",
            [("line", lambda r: r[0]), ("mrr", lambda r: r[1])],
            [*bridge, ("Closing MRR", m.mrr_end)],
        )
    if exports.wants_csv(request, "months"):
        return exports.csv_response("revenue-by-month", MONTH_CSV_COLUMNS, months)
    context = {
        "form": form,
        "m": m,
        "tiles": _tiles(m, form.period_words),
        "definitions": DEFINITIONS,
        "movements": movements,
        "months": _series(months),
        "query": form.query(),
    }
    return render(request, "metrics/revenue.html", context)


@login_required
@reads_from_replica()
def revenue_customer_list(request: HttpRequest) -> HttpResponse:
    """The customers behind a revenue number: which churned, expanded, contracted… and by how much."""
    form = RevenueCustomersForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "metrics/revenue_customers.html", {"form": form}, status=400)
    data = form.cleaned_data
    rows = revenue_customers(scope=form.scope, start=data["start"], end=data["end"], metric=data["metric"])
    if exports.wants_csv(request):
        return exports.csv_response(f"revenue-{data['metric']}", CUSTOMERS_CSV_COLUMNS, rows)
    context = {
        "form": form,
        "rows": rows,
        "label": CUSTOMER_LISTS[data["metric"]][0],
        "lists": [(k, v[0]) for k, v in CUSTOMER_LISTS.items()],
        "metric": data["metric"],
        "query": form.query(),
        "total": sum((r.amount for r in rows), Decimal("0")),
    }
    return render(request, "metrics/revenue_customers.html", context)


@login_required
@require_POST
def value_milestone_log(request: HttpRequest, external_id: str) -> HttpResponse:
    """Record a customer's "first value" milestone from the customer page."""
    customer = get_object_or_404(Customer, external_id=external_id)
    form = ValueMilestoneForm(request.POST)
    if form.is_valid():
        try:
            services.value_milestone_log(user=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "First-value milestone recorded.")
    else:
        messages.error(request, "Enter the date the customer reached first value.")
    return redirect(customer.get_absolute_url() + "#usage")
