"""Reads of health snapshots: one customer's latest health with changes, its history, what moved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Customer

from ..models import HealthSnapshot
from .engine import FactorConfig, ModelConfig, gather, score_many
from .factors import get_factor
from .services import customer_id_chunks, cyclic_gc_paused, previous_bands, scored_ids


@dataclass(frozen=True)
class HealthSummary:
    snapshot: HealthSnapshot | None
    change_7d: Decimal | None
    change_30d: Decimal | None
    week_ago: HealthSnapshot | None = None

    @property
    def as_of(self) -> dt.date | None:
        return self.snapshot.date if self.snapshot else None


def score_change(now: HealthSnapshot | None, before: HealthSnapshot | None) -> Decimal | None:
    if now is None or before is None or now.score is None or before.score is None:
        return None
    return now.score - before.score


def customer_health(*, customer: Customer) -> HealthSummary:
    """The latest snapshot and its change over 7 and 30 days (two queries)."""
    latest = (
        HealthSnapshot.objects.filter(customer=customer).select_related("model").order_by("-date").first()
    )
    if latest is None:
        return HealthSummary(None, None, None)
    earlier = {
        s.date: s
        for s in HealthSnapshot.objects.filter(
            customer=customer,
            date__in=[latest.date - dt.timedelta(days=7), latest.date - dt.timedelta(days=30)],
        )
    }
    week_ago = earlier.get(latest.date - dt.timedelta(days=7))
    month_ago = earlier.get(latest.date - dt.timedelta(days=30))
    return HealthSummary(latest, score_change(latest, week_ago), score_change(latest, month_ago), week_ago)


def health_history(*, customer: Customer, days: int, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Daily {date, score, band, model_version} of the last `days` days up to today (one query)."""
    today = today or timezone.localdate()
    return health_history_between(customer=customer, start=today - dt.timedelta(days=days - 1), end=today)


def health_history_between(*, customer: Customer, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Daily {date, score, band, model_version} from `start` to `end`, both included (one query)."""
    return [
        {"date": d, "score": score, "band": band, "model_version": version}
        for d, score, band, version in HealthSnapshot.objects.filter(
            customer=customer, date__gte=start, date__lte=end
        )
        .order_by("date")
        .values_list("date", "score", "band", "model__version")
    ]


def snapshots_of_day() -> QuerySet[HealthSnapshot]:
    """Every customer's snapshot rows as {customer__external_id, date, score, band, model__version}, in
    customer id order, for the API's list of a day (filtered by date, CSM and segment by the caller): one
    query per page, over the (date, customer) index."""
    return HealthSnapshot.objects.order_by("customer_id").values(
        "customer__external_id", "date", "score", "band", "model__version"
    )


@dataclass(frozen=True)
class Movement:
    factor: str
    label: str
    delta: float  # change of the component's contribution, in points
    sentence: str

    @property
    def points(self) -> str:
        sign = "+" if self.delta > 0 else "\u2212"
        return f"{sign}{abs(self.delta):.1f} points"


@dataclass
class Explanation:
    rows: list[dict[str, Any]] = field(default_factory=list)
    moved: list[Movement] = field(default_factory=list)


def explain(snapshot: HealthSnapshot, week_ago: HealthSnapshot | None, *, limit: int = 3) -> Explanation:
    """The components table (labels, formatted raw values, freshness) and "what moved": the components whose
    contribution changed most since 7 days ago, in words. No queries."""
    out = Explanation()
    before = {c["factor"]: c for c in (week_ago.components if week_ago else [])}
    moves = []
    for component in snapshot.components:
        factor = get_factor(component["factor"])
        raw = component["raw_value"]
        out.rows.append(
            {
                **component,
                "label": factor.label,
                "description": factor.description,
                "raw_display": factor.format_raw(raw, component.get("detail") or {})
                if raw is not None
                else _not_used(component.get("detail") or {}),
                "freshness": component.get("as_of") or (factor.window if raw is not None else ""),
                "missing": raw is None,
            }
        )
        if week_ago is None or snapshot.score is None or week_ago.score is None:
            continue
        was = before.get(component["factor"])
        delta = (component["contribution"] or 0) - ((was or {}).get("contribution") or 0)
        if abs(delta) >= 0.5:
            sentence = factor.explain(was, component, delta)
            moves.append(Movement(component["factor"], factor.label, round(delta, 1), sentence))
    out.moved = sorted(moves, key=lambda m: -abs(m.delta))[:limit]
    return out


def _not_used(detail: dict[str, Any]) -> str:
    """A component without a value: "no data", or why it does not apply
    (docs/health.md#missing-is-not-perfect)."""
    reason = detail.get("excused")
    return f"not used: {reason}" if reason else "no data"


# --- Model editor preview -----------------------------------------------------------------------------------

MAX_LISTED = 200  # customers named in a preview; the count covers all of them
BINS = [(0, 40), (40, 50), (50, 60), (60, 70), (70, 80), (80, 90), (90, 101)]


@dataclass(frozen=True)
class BandChange:
    customer_id: int
    name: str
    external_id: str
    before_score: Decimal | None
    before_band: str
    after_score: Decimal | None
    after_band: str


@dataclass
class Preview:
    day: dt.date
    customers: int = 0
    changed_count: int = 0
    changes: list[BandChange] = field(default_factory=list)
    before_bands: dict[str, int] = field(default_factory=dict)
    after_bands: dict[str, int] = field(default_factory=dict)
    before_histogram: list[int] = field(default_factory=list)
    after_histogram: list[int] = field(default_factory=list)
    before_mean: float | None = None
    after_mean: float | None = None

    @property
    def histogram_rows(self) -> list[dict[str, Any]]:
        labels = [f"{lo}-{min(hi, 100)}" for lo, hi in BINS] + ["no score"]
        top = max([*self.before_histogram, *self.after_histogram, 1])
        return [
            {"label": label, "before": b, "after": a, "before_pct": 100 * b / top, "after_pct": 100 * a / top}
            for label, b, a in zip(labels, self.before_histogram, self.after_histogram, strict=True)
        ]


def _histogram(scores: list[Decimal | None]) -> list[int]:
    counts = [0] * (len(BINS) + 1)
    for s in scores:
        if s is None:
            counts[-1] += 1
            continue
        for i, (lo, hi) in enumerate(BINS):
            if lo <= s < hi:
                counts[i] += 1
                break
    return counts


def _mean(scores: list[Decimal | None]) -> float | None:
    present = [float(s) for s in scores if s is not None]
    return round(sum(present) / len(present), 1) if present else None


def health_model_preview(
    *, current: ModelConfig, proposal: ModelConfig, day: dt.date | None = None, chunk_size: int = 2000
) -> Preview:
    """What `proposal` (an engine.ModelConfig) would do to `day`'s scores (default today) compared with the
    `current` model: both scored on the same readings (gathered once per chunk), nothing written."""
    day = day or timezone.localdate()
    keys = {f.key for f in current.active} | {f.key for f in proposal.active}
    union = ModelConfig(factors=tuple(FactorConfig(k, 1, 0, 1) for k in sorted(keys)))
    preview = Preview(day=day)
    before_scores: list[Decimal | None] = []
    after_scores: list[Decimal | None] = []
    changed: list[tuple[int, Any, Any]] = []
    for lo, hi in customer_id_chunks(chunk_size=chunk_size):
        ids = scored_ids(lo, hi, day=day)
        with cyclic_gc_paused():
            readings = gather(union, customer_ids=ids, day=day)
            bands = previous_bands(customer_ids=ids, day=day)
            # Scores and bands only: the preview shows no components.
            before = score_many(current, readings, previous_bands=bands, components=False)
            after = score_many(proposal, readings, previous_bands=bands, components=False)
        for b, a in zip(before, after, strict=True):
            before_scores.append(b.score)
            after_scores.append(a.score)
            preview.before_bands[b.band or "none"] = preview.before_bands.get(b.band or "none", 0) + 1
            preview.after_bands[a.band or "none"] = preview.after_bands.get(a.band or "none", 0) + 1
            if b.band != a.band:
                changed.append((b.customer_id, b, a))
    preview.customers = len(before_scores)
    preview.changed_count = len(changed)
    changed = changed[:MAX_LISTED]
    names = {
        pk: (name, ext)
        for pk, name, ext in Customer.objects.filter(pk__in=[c for c, _b, _a in changed]).values_list(
            "pk", "name", "external_id"
        )
    }
    for cid, b, a in changed:
        name, ext = names.get(cid, ("", ""))
        preview.changes.append(BandChange(cid, name, ext, b.score, b.band, a.score, a.band))
    preview.before_histogram = _histogram(before_scores)
    preview.after_histogram = _histogram(after_scores)
    preview.before_mean = _mean(before_scores)
    preview.after_mean = _mean(after_scores)
    return preview
