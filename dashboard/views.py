"""HTML screens of the dashboard: home, portfolio trends and team performance (thin: permission, one
selector call, render or export)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core import exports, ui
from core.db import reads_from_replica
from core.sql import analytic_transaction
from metrics.health.panels import chart_js

from . import selectors
from . import team as team_selectors
from .periods import current_quarter, parse_period, period_choices


@login_required
@require_GET
@reads_from_replica()
def team(request: HttpRequest) -> HttpResponse:
    """Team performance per CSM for a quarter or a year (managers: their teams; admins: every CSM)."""
    today = timezone.localdate()
    # A period the page does not offer (a stale bookmark, 9999-Q4) shows the current quarter.
    period = parse_period(request.GET.get("period", ""), today=today) or current_quarter(today)
    csv = exports.wants_csv(request)
    # The export reads the facts, as every export does (docs/architecture.md#dashboard-rollups).
    perf = team_selectors.team_performance(
        viewer=request.user, start=period.start, end=period.end, today=today, rollup=not csv
    )
    sort = ui.sort_param(request, team_selectors.TEAM_SORTS, team_selectors.TEAM_DEFAULT_SORT)
    rows = team_selectors.sort_rows(perf.rows, sort)
    if csv:
        data = [team_selectors.row_data(r) for r in [*rows, perf.total]]
        return exports.csv_response(f"team-{period.key}", team_selectors.team_csv_columns(), data)
    context = {
        "perf": perf,
        "rows": rows,
        "sort": sort,
        "sort_choices": team_selectors.sort_choices(),
        "period": period,
        "periods": period_choices(today),
    }
    return ui.render_page(request, "dashboard/team.html", context, partial="table")


# --- Home -----------------------------------------------------------------------------------------

HOME_CSV: dict[str, tuple[str, list[exports.Column]]] = {
    "bands": (
        "health-by-band",
        [
            ("band", lambda r: r.label),
            ("customers", lambda r: r.customers),
            ("customer_share", lambda r: r.customer_share),
            ("arr", lambda r: r.arr),
            ("arr_share", lambda r: r.arr_share),
        ],
    ),
    "renewals": (
        "renewals-due",
        [
            ("external_id", lambda c: c.external_id),
            ("customer", lambda c: c.name),
            ("renewal_date", lambda c: c.renewal_date),
            ("health_score", lambda c: c.health_score),
            ("health_band", lambda c: c.health_band),
            ("mrr", lambda c: c.mrr_now),
            ("open_playbooks", lambda c: c.open_playbooks),
            ("csm", lambda c: c.csm.email if c.csm else ""),
        ],
    ),
    "drops": (
        "health-drops",
        [
            ("external_id", lambda d: d.customer.external_id),
            ("customer", lambda d: d.customer.name),
            ("health_score", lambda d: d.customer.health_score),
            ("health_band", lambda d: d.customer.health_band),
            ("change_7d", lambda d: d.customer.health_change_7d),
            ("what_moved", lambda d: d.moved_line),
            ("csm", lambda d: d.customer.csm.email if d.customer.csm else ""),
        ],
    ),
    "overdue": (
        "overdue-tasks",
        [
            ("task", lambda t: t.title),
            ("customer", lambda t: t.run.customer.name),
            ("external_id", lambda t: t.run.customer.external_id),
            ("playbook", lambda t: t.run.playbook.name),
            ("assignee", lambda t: t.assignee.email if t.assignee else ""),
            ("due_date", lambda t: t.due_date),
        ],
    ),
}


def _home_export(request: HttpRequest, table: str) -> HttpResponse:
    """The full table behind a home card (the card shows its first rows)."""
    portfolio = selectors.portfolio_for(request.user)
    today = timezone.localdate()
    limit = selectors.EXPORT_LIMIT
    if table == "bands":
        rows: Any = selectors.band_distribution(portfolio=portfolio, day=today)
    elif table == "renewals":
        rows = selectors.renewals_due(portfolio=portfolio, today=today)[:limit].iterator()
    elif table == "drops":
        rows = selectors.biggest_drops(portfolio=portfolio, limit=200)
    else:
        rows = selectors.overdue_tasks(portfolio=portfolio, today=today)[:limit].iterator()
    name, columns = HOME_CSV[table]
    return exports.csv_response(name, columns, rows)


@login_required
@require_GET
@reads_from_replica()
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the viewer's portfolio today (CSM: own book; manager: their teams; admin: all)."""
    table = request.GET.get("table", "")
    if exports.wants_csv(request) and table in HOME_CSV:
        return _home_export(request, table)
    data = selectors.home(user=request.user)
    return render(request, "dashboard/home.html", {"home": data, "chart_js": chart_js()})


# --- Trends ---------------------------------------------------------------------------------------

TRENDS_CSV: dict[str, tuple[str, list[exports.Column]]] = {
    "band_mix": (
        "health-band-mix",
        [
            ("date", lambda m: m.day),
            ("red", lambda m: m.red),
            ("yellow", lambda m: m.yellow),
            ("green", lambda m: m.green),
            ("no_score", lambda m: m.no_score),
            ("customers", lambda m: m.total),
        ],
    ),
    "retention": (
        "nrr-grr-by-month",
        [
            ("month", lambda m: m.month),
            ("mrr_start", lambda m: m.totals.opening),
            ("mrr_end", lambda m: m.totals.closing),
            ("nrr", lambda m: m.nrr),
            ("grr", lambda m: m.grr),
        ],
    ),
    "funnel": (
        "renewals-funnel",
        [("stage", lambda s: s.label), ("renewals", lambda s: s.count), ("arr", lambda s: s.arr)],
    ),
}


@login_required
@require_GET
@reads_from_replica()
def trends(request: HttpRequest) -> HttpResponse:
    """Portfolio trends: band mix and NRR/GRR over 12 months, the renewals funnel; each with its table."""
    portfolio = selectors.portfolio_for(request.user)
    today = timezone.localdate()
    table = request.GET.get("table", "")
    if exports.wants_csv(request) and table in TRENDS_CSV:
        if table == "band_mix":
            rows: Any = selectors.band_mix_by_month(portfolio=portfolio, today=today)
        elif table == "retention":
            rows = selectors.retention_by_month(portfolio=portfolio, today=today)
        else:
            rows = selectors.renewals_funnel(portfolio=portfolio, today=today)[0]
        name, columns = TRENDS_CSV[table]
        return exports.csv_response(name, columns, rows)
    with analytic_transaction(cap_parallel_workers=True):
        band_mix = selectors.band_mix_by_month(portfolio=portfolio, today=today)
        months = selectors.retention_by_month(portfolio=portfolio, today=today)
        funnel, funnel_start, funnel_end = selectors.renewals_funnel(portfolio=portfolio, today=today)
    top = max([s.count for s in funnel] + [1])
    context = {
        "portfolio": portfolio,
        "band_mix": band_mix,
        "band_chart": {
            "labels": [m.day.strftime("%b %Y") for m in band_mix],
            "series": {band or "none": [m.counts.get(band, 0) for m in band_mix] for band in selectors.BANDS},
        },
        "months": months,
        "retention_chart": {
            "labels": [m.month.strftime("%b %Y") for m in months],
            "nrr": [None if m.nrr is None else round(float(m.nrr) * 100, 1) for m in months],
            "grr": [None if m.grr is None else round(float(m.grr) * 100, 1) for m in months],
        },
        "funnel": [{"stage": s, "width": round(100 * s.count / top, 1)} for s in funnel],
        "funnel_start": funnel_start,
        "funnel_end": funnel_end,
        "has_snapshots": any(m.total for m in band_mix),
        # Months before the first snapshot are blank bars: the note says why (no history, not zero customers).
        "band_mix_since": next((m.day for m in band_mix if m.total), None) if not band_mix[0].total else None,
        "chart_js": chart_js(),
    }
    return ui.render_page(request, "dashboard/trends.html", context, partial="charts")
