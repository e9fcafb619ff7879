"""The Renewals page (docs/renewals.md): a quarter's forecast per CSM, per team and in all, its flags,
forecast accuracy with the weekly category mix, and the renewals behind every number (the Renewals list,
where the category is set in the row). Managers see their teams, admins everything, a CSM their own book."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from accounts.models import Team, User
from accounts.visibility import book_owners, editable_customers, scope_csm_ids, scope_label
from core import exports, ui
from core.db import reads_from_replica
from core.numbers import format_money, format_money_short
from core.sql import analytic_transaction
from metrics.forecast import selectors
from metrics.forecast.quarters import Quarter, parse_quarter, quarter_choices, quarter_of
from metrics.models import ForecastCategory

UNASSIGNED = "none"  # ?csm=none: the customers with no CSM (admins)


@dataclass(frozen=True)
class PageScope:
    """Whose renewals the page shows: `csm_ids` (None: all; None inside: customers with no CSM), a label and
    the ?csm= / ?team= that chose it."""

    csm_ids: tuple[int | None, ...] | None
    label: str
    csm: str = ""
    team: str = ""

    @property
    def key(self) -> str:
        """`csm=…` or `team=…` (or nothing): how links keep this scope."""
        return urlencode({k: v for k, v in {"csm": self.csm, "team": self.team}.items() if v})


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def page_scope(user: User, *, csm: str = "", team: str = "") -> PageScope:
    """The viewer's scope (accounts.visibility.scope_csm_ids), narrowed to one CSM or one team inside it;
    a CSM or team outside it is PermissionDenied, one that does not exist Http404."""
    base = scope_csm_ids(user)
    if csm == UNASSIGNED:
        if base is not None:
            raise PermissionDenied("Customers without a CSM are in no team's scope.")
        return PageScope((None,), "No CSM", csm=csm)
    if csm:
        pk = _int(csm)
        owner = User.objects.filter(pk=pk).first() if pk else None
        if owner is None:
            raise Http404("No such CSM.")
        if base is not None and owner.pk not in base:
            raise PermissionDenied("That CSM's book is outside your teams.")
        return PageScope((owner.pk,), owner.get_full_name() or owner.email, csm=csm)
    if team:
        pk = _int(team)
        found = Team.objects.filter(pk=pk).first() if pk else None
        if found is None:
            raise Http404("No such team.")
        members = tuple(sorted(found.members.values_list("pk", flat=True)))
        if base is not None and not set(members) <= set(base):
            raise PermissionDenied("That team is not one of yours.")
        return PageScope(members, found.name, team=team)
    return PageScope(base, scope_label(user))


def _quarter(request: HttpRequest, today: dt.date) -> Quarter:
    return parse_quarter(request.GET.get("quarter", "")) or quarter_of(today)


@dataclass
class Row:
    """One line of a table: a CSM, a team or the total, with its figures and the ?csm=/?team= it drills to."""

    label: str
    sub: str
    figures: selectors.Figures
    accuracy: selectors.Accuracy
    key: str  # "csm=3", "team=2", "" (total)
    is_total: bool = False
    cells: SafeString | None = None


# The drillable columns of a row: (label, money field, count field, bucket).
CELLS = [
    ("ARR due", "arr_due", "renewals", "all"),
    ("Commit", "commit_arr", "n_commit", "commit"),
    ("Likely", "likely_arr", "n_likely", "likely"),
    ("At risk", "at_risk_arr", "n_at_risk", "at_risk"),
    ("Lost", "lost_arr", "n_lost", "lost"),
    ("No category", "uncategorized_arr", "n_uncategorized", "uncategorized"),
    ("Expected", "expected_arr", "n_expected", "expected"),
    ("Renewed", "renewed_arr", "n_renewed", "renewed"),
    ("Churned", "churned_arr", "n_churned", "churned"),
    ("Open", "open_arr", "n_open", "open"),
    ("Gap", "gap_arr", None, "gap"),
]


def cells_html(row: Row, *, list_url: str, quarter: Quarter) -> SafeString:
    """A row's drillable figures as table cells, built here once: 100 CSM rows x 11 figures through template
    variables and filters would cost more than the page's queries."""
    base = f"{list_url}?quarter={quarter.key}" + (f"&{row.key}" if row.key else "")
    parts = []
    for label, money, count, bucket in CELLS:
        value = getattr(row.figures, money)
        n = getattr(row.figures, count) if count else None
        title = format_money(value) + (f" · {n} renewal{'s' if n != 1 else ''}" if n is not None else "")
        parts.append(
            format_html(
                '<td class="num nowrap" data-label="{}"><a href="{}" title="{}">{}</a>{}</td>',
                label,
                f"{base}&bucket={bucket}",
                title,
                format_money_short(value),
                format_html('<span class="table__secondary">{}</span>', n) if n else "",
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every part went through format_html


def _rows(
    result: selectors.Forecast, accuracy: dict[int | None, selectors.Accuracy], scope: PageScope
) -> tuple[list[Row], list[Row]]:
    """(per CSM, per team): CSM names in one query, teams and their members in two."""
    ids = set(result.by_csm) | set(accuracy)
    users = {u.pk: u for u in User.objects.filter(pk__in=[i for i in ids if i is not None])}
    csm_rows = []
    for pk in ids:
        user = users.get(pk)
        csm_rows.append(
            Row(
                label=(user.get_full_name() or user.email) if user else "No CSM",
                sub=user.email if user else "",
                figures=result.by_csm.get(pk, selectors.Figures()),
                accuracy=accuracy.get(pk, selectors.Accuracy()),
                key=f"csm={pk}" if pk is not None else f"csm={UNASSIGNED}",
            )
        )
    csm_rows.sort(key=lambda r: (-r.figures.arr_due, r.label))
    team_rows = []
    if scope.csm == "" and scope.team == "":
        teams = Team.objects.prefetch_related("members").order_by("name")
        if scope.csm_ids is not None:
            teams = teams.filter(members__in=[i for i in scope.csm_ids if i is not None]).distinct()
        for team in teams:
            members = [m.pk for m in team.members.all()]
            if scope.csm_ids is not None and not set(members) <= set(scope.csm_ids):
                continue
            team_rows.append(
                Row(
                    label=team.name,
                    sub=f"{len(members)} member{'s' if len(members) != 1 else ''}",
                    figures=sum(
                        (result.by_csm.get(m, selectors.Figures()) for m in members), selectors.Figures()
                    ),
                    accuracy=sum(
                        (accuracy.get(m, selectors.Accuracy()) for m in members), selectors.Accuracy()
                    ),
                    key=f"team={team.pk}",
                )
            )
    return csm_rows, team_rows


def _figure_columns(prefix: str = "") -> list[exports.Column]:
    f = [
        ("renewals", lambda r: r.figures.renewals),
        ("arr_due", lambda r: r.figures.arr_due),
        ("commit_arr", lambda r: r.figures.commit_arr),
        ("likely_arr", lambda r: r.figures.likely_arr),
        ("at_risk_arr", lambda r: r.figures.at_risk_arr),
        ("lost_arr", lambda r: r.figures.lost_arr),
        ("uncategorized_arr", lambda r: r.figures.uncategorized_arr),
        ("expected_arr", lambda r: r.figures.expected_arr),
        ("renewed_arr", lambda r: r.figures.renewed_arr),
        ("churned_arr", lambda r: r.figures.churned_arr),
        ("open_arr", lambda r: r.figures.open_arr),
        ("gap_to_full_grr", lambda r: r.figures.gap_arr),
        ("forecast_grr", lambda r: r.figures.forecast_grr),
        ("flag_uncategorized_soon", lambda r: r.figures.n_flag_uncategorized),
        ("flag_commit_red", lambda r: r.figures.n_flag_commit_red),
        ("accuracy_expected_arr", lambda r: r.accuracy.expected_arr),
        ("accuracy_actual_arr", lambda r: r.accuracy.actual_arr),
        ("accuracy", lambda r: r.accuracy.accuracy),
    ]
    return [(prefix + name, value) for name, value in f]


def _week_value(category: str) -> Callable[[selectors.Week], object]:
    return lambda week: week.arr_by_category[category]


ROW_COLUMNS: list[exports.Column] = [
    ("name", lambda r: r.label),
    ("email", lambda r: r.sub if "@" in r.sub else ""),
    *_figure_columns(),
]


@login_required
@require_GET
@reads_from_replica()
def renewals(request: HttpRequest) -> HttpResponse:
    """`/renewals/?quarter=2027-Q1[&csm=|&team=]`: the quarter's forecast (docs/renewals.md#the-quarter)."""
    today = timezone.localdate()
    quarter = _quarter(request, today)
    scope = page_scope(request.user, csm=request.GET.get("csm", ""), team=request.GET.get("team", ""))
    with analytic_transaction(cap_parallel_workers=True):
        result = selectors.forecast(quarter=quarter, csm_ids=scope.csm_ids, today=today)
        overall, accuracy = result.accuracy_total, result.accuracy
        weeks = selectors.weekly_mix(quarter=quarter, csm_ids=scope.csm_ids)
    csm_rows, team_rows = _rows(result, accuracy, scope)
    total = Row(
        label="TOTAL", sub=scope.label, figures=result.total, accuracy=overall, key=scope.key, is_total=True
    )
    table = request.GET.get("table", "csms")
    if exports.wants_csv(request):
        if table == "weeks":
            columns: list[exports.Column] = [
                ("week_of", lambda w: w.taken_on),
                *[(f"{c or 'uncategorized'}_arr", _week_value(c)) for c in ["", *selectors.CATEGORIES]],
                ("expected_arr", lambda w: w.expected_arr),
            ]
            return exports.csv_response(f"renewals-weekly-{quarter.key}", columns, weeks)
        rows = team_rows if table == "teams" else csm_rows
        return exports.csv_response(f"renewals-{table}-{quarter.key}", ROW_COLUMNS, [*rows, total])
    list_url = reverse("renewals_list")
    for row in [*csm_rows, *team_rows, total]:
        row.cells = cells_html(row, list_url=list_url, quarter=quarter)
    context = {
        "quarter": quarter,
        "quarters": quarter_choices(today),
        "scope": scope,
        "result": result,
        "total": total,
        "csm_rows": csm_rows,
        "team_rows": team_rows,
        "weeks": weeks,
        "categories": [("", "No category"), *ForecastCategory.choices],
        "closed": quarter.is_closed(today),
        "owners": book_owners(request.user).order_by("full_name", "email"),
        "teams": (
            Team.objects.order_by("name")
            if scope_csm_ids(request.user) is None
            else Team.objects.filter(manager=request.user).order_by("name")
        ),
        "flag_days": selectors.FLAG_DAYS,
    }
    return ui.render_page(request, "dashboard/renewals.html", context, partial="results")


LIST_COLUMNS: list[exports.Column] = [
    ("external_id", lambda r: r.customer.external_id),
    ("customer", lambda r: r.customer.name),
    ("csm", lambda r: r.customer.csm.email if r.customer.csm else ""),
    ("due_date", lambda r: r.due_date),
    ("arr_due", lambda r: r.arr_due),
    ("category", lambda r: r.category),
    ("expected_arr", lambda r: r.expected),
    ("expected_arr_overridden", lambda r: r.expected_arr_override is not None),
    ("outcome", lambda r: r.outcome),
    ("actual_arr", lambda r: r.actual),
    ("health_band", lambda r: r.customer.health_band),
    ("health_score", lambda r: r.customer.health_score),
    ("health_change_7d", lambda r: r.customer.health_change_7d),
    ("note", lambda r: r.forecast_note),
]


@login_required
@require_GET
@reads_from_replica()
def renewals_list(request: HttpRequest) -> HttpResponse:
    """`/renewals/list/?quarter=&csm=|team=&bucket=`: the renewals behind a figure
    (docs/renewals.md#drill-down)."""
    today = timezone.localdate()
    quarter = _quarter(request, today)
    scope = page_scope(request.user, csm=request.GET.get("csm", ""), team=request.GET.get("team", ""))
    bucket = request.GET.get("bucket", "all")
    if bucket not in selectors.BUCKETS:
        bucket = "all"
    renewals = selectors.forecast_renewals(quarter=quarter, csm_ids=scope.csm_ids, today=today, bucket=bucket)
    if exports.wants_csv(request):
        return exports.csv_response(
            f"renewals-{bucket}-{quarter.key}", LIST_COLUMNS, renewals.iterator(chunk_size=2000)
        )
    page = ui.paginate(request, renewals)
    ids = [r.customer_id for r in page.object_list]
    editable = set(editable_customers(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    soon = today + dt.timedelta(days=selectors.FLAG_DAYS)
    for r in page.object_list:
        r.can_edit = r.customer_id in editable
        r.flag_uncategorized = not r.is_closed and not r.category and r.due_date <= soon
    context = {
        "quarter": quarter,
        "scope": scope,
        "bucket": bucket,
        "bucket_label": selectors.BUCKETS[bucket],
        "buckets": selectors.BUCKETS,
        "page": page,
        "categories": ForecastCategory.choices,
        "back_query": "&".join(p for p in (f"quarter={quarter.key}", scope.key) if p),
        "today": today,
    }
    return ui.render_page(request, "dashboard/renewals_list.html", context, partial="rows")
