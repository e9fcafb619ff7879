"""Customer page panel (core/panels.py): the health card — score, band, changes, 90-day chart with model
version marks, components and what moved, "as of HH:MM" and whether a change waits for the live recompute.
Two queries (three for a manager: may they recompute it); a churned customer shows "Churned" and its churn
date instead of a band (one more query). And the Book's line per customer: its weakest factors."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.dirty import dirty_since
from accounts.models import LifecycleStage
from accounts.visibility import can_manage_customer
from core.panels import Panel

from ..churn import churn_dates
from ..models import HealthSnapshot
from .factors import get_factor
from .selectors import HealthSummary, explain, score_change

CHART_DAYS = 90


@cache
def chart_js() -> str | None:
    """The vendored Chart.js (static/vendor/chart-<version>.min.js)."""
    found = sorted(Path(settings.BASE_DIR, "static", "vendor").glob("chart-*.min.js"))
    return f"vendor/{found[-1].name}" if found else None


def customer_panels(*, customer: Any, user: Any) -> list[Panel]:
    today = timezone.localdate()
    snapshots = list(
        HealthSnapshot.objects.filter(customer=customer, date__gt=today - dt.timedelta(days=CHART_DAYS))
        .select_related("model")
        .order_by("date")
    )
    if not snapshots:
        # Older than the chart window (or never computed): the latest one, whenever it was.
        latest = (
            HealthSnapshot.objects.filter(customer=customer).select_related("model").order_by("-date")[:1]
        )
        snapshots = list(latest)
    by_date = {s.date: s for s in snapshots}
    latest = snapshots[-1] if snapshots else None
    week_ago = by_date.get(latest.date - dt.timedelta(days=7)) if latest else None
    month_ago = by_date.get(latest.date - dt.timedelta(days=30)) if latest else None
    summary = HealthSummary(latest, score_change(latest, week_ago), score_change(latest, month_ago), week_ago)
    context: dict[str, Any] = {
        "summary": summary,
        "chart_js": chart_js(),
        "today": today,
        # docs/health.md#live-data: "as of HH:MM"; "updating…" while a change waits for the live recompute.
        "computed_at": timezone.localtime(latest.computed_at) if latest else None,
        "updating": dirty_since(customer_id=customer.pk) is not None,
        "can_recompute": can_manage_customer(user, customer),
    }
    if customer.lifecycle_stage == LifecycleStage.CHURNED:
        # docs/health.md#who-is-scored: shown as churned, not by its last band; one more query, for churned
        # customers only (the lifecycle follows the ledger on every write, metrics.services).
        context["churned"] = True
        context["churned_on"] = churn_dates(customer_ids=[customer.pk], day=today).get(customer.pk)
    if latest is not None:
        context["explanation"] = explain(latest, week_ago)
        context["chart"] = _chart(snapshots)
    return [Panel(title="Health", template="metrics/health/panel.html", context=context, order=10, wide=True)]


def _chart(snapshots: list[HealthSnapshot]) -> dict[str, Any]:
    markers = []
    previous_version = None
    for i, s in enumerate(snapshots):
        if previous_version is not None and s.model.version != previous_version:
            markers.append({"index": i, "label": f"Model v{s.model.version}", "note": s.model.note})
        previous_version = s.model.version
    return {
        "labels": [s.date.isoformat() for s in snapshots],
        "scores": [float(s.score) if s.score is not None else None for s in snapshots],
        "bands": [s.band for s in snapshots],
        "markers": markers,
        "green": float(snapshots[-1].model.green_threshold),
        "yellow": float(snapshots[-1].model.yellow_threshold),
    }


WEAKEST_SHOWN = 2
WEAK_BELOW = 50.0  # points of 100: a factor scoring under this is named among the weakest


def book_weakest_factors(*, customers: list[Any]) -> dict[int, dict[str, str]]:
    """Per scored customer of a Book page, the factors that pull its health down most, in words
    (docs/health.md#in-the-book): the enabled factors of its latest snapshot scoring under 50 points, lowest
    first (the heavier first on ties), at most two, e.g. "Weakest: Tenure, Key-feature share" with the raw
    values in the title. One query for the whole page."""
    wanted: dict[Any, list[int]] = {}
    for c in customers:
        if c.health_as_of and c.health_score is not None and c.lifecycle_stage != LifecycleStage.CHURNED:
            wanted.setdefault(c.health_as_of, []).append(c.pk)
    if not wanted:
        return {}
    query = Q()
    for day, ids in wanted.items():
        query |= Q(date=day, customer_id__in=ids)
    notes: dict[int, dict[str, str]] = {}
    for customer_id, components in HealthSnapshot.objects.filter(query).values_list(
        "customer_id", "components"
    ):
        weak = []
        for c in components or []:
            weight, raw = c.get("weight") or 0, c.get("raw_value")
            if weight <= 0 or raw is None:
                continue
            points = 100.0 * (c.get("contribution") or 0) / weight
            if points < WEAK_BELOW:
                weak.append((points, -weight, c))
        if not weak:
            continue
        weak.sort(key=lambda w: (w[0], w[1]))
        named = []
        for points, _w, c in weak[:WEAKEST_SHOWN]:
            factor = get_factor(c["factor"])
            named.append(
                (
                    factor.label,
                    f"{factor.label}: {factor.format_raw(c['raw_value'], c.get('detail') or {})}"
                    f" ({points:.0f} of 100 points)",
                )
            )
        notes[customer_id] = {
            "text": "Weakest: " + ", ".join(label for label, _ in named),
            "title": "; ".join(title for _, title in named),
        }
    return notes
