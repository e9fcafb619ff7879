"""HTML screens of the dashboard: home, portfolio trends and team performance (thin: permission, one
selector call, render or export)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cshub import exports, ui

from . import team as team_selectors
from .periods import current_quarter, parse_period, period_choices


@login_required
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    """Team performance per CSM for a quarter or a year (managers: their teams; admins: every CSM)."""
    today = timezone.localdate()
    period = parse_period(request.GET.get("period", ""), today=today) or current_quarter(today)
    perf = team_selectors.team_performance(
        viewer=request.user, start=period.start, end=period.end, today=today
    )
    sort = ui.sort_param(request, team_selectors.TEAM_SORTS, team_selectors.TEAM_DEFAULT_SORT)
    rows = team_selectors.sort_rows(perf.rows, sort)
    if exports.wants_csv(request):
        data = [team_selectors.row_data(r) for r in [*rows, perf.total]]
        return exports.csv_response(f"team-{period.key}", team_selectors.team_csv_columns(), data)
    context = {
        "perf": perf,
        "rows": rows,
        "sort": sort,
        "period": period,
        "periods": period_choices(today),
    }
    return ui.render_page(request, "dashboard/team.html", context, partial="table")
