"""Scoring (docs/health.md): plain functions from factor readings to a score, a band and its components.

No database writes here: services.py stores what these compute, and the model editor's preview calls the same
functions with a proposed configuration.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..models import BAND_RANK, Band, HealthModel
from .factors import Reading, load
from .factors.usage_window import shared_scan


@dataclass(frozen=True)
class FactorConfig:
    key: str
    weight: float
    bad: float
    good: float
    enabled: bool = True


@dataclass(frozen=True)
class ModelConfig:
    """A health model version as plain values (a saved HealthModel, or a proposal in the editor)."""

    factors: tuple[FactorConfig, ...]
    green: float = 70.0
    yellow: float = 40.0
    margin: float = 3.0
    version: int | None = None
    model_id: int | None = None

    @classmethod
    def of(cls, model: HealthModel) -> ModelConfig:
        return cls(
            factors=tuple(
                FactorConfig(f.key, float(f.weight), f.bad, f.good, f.enabled) for f in model.factors.all()
            ),
            green=float(model.green_threshold),
            yellow=float(model.yellow_threshold),
            margin=float(model.hysteresis_margin),
            version=model.version,
            model_id=model.pk,
        )

    @property
    def active(self) -> tuple[FactorConfig, ...]:
        return tuple(f for f in self.factors if f.enabled)


@dataclass(frozen=True)
class Result:
    customer_id: int
    score: Decimal | None
    band: str  # "" when the score is null
    components: list[dict[str, Any]]


def factor_score(raw: float, *, bad: float, good: float) -> float:
    """0 at `bad`, 100 at `good`, linear in between and clamped outside; works in either direction."""
    share = (raw - bad) / (good - bad)
    return 100.0 * min(1.0, max(0.0, share))


def strict_band(score: float, *, green: float, yellow: float) -> str:
    if score >= green:
        return Band.GREEN
    if score >= yellow:
        return Band.YELLOW
    return Band.RED


def band_with_hysteresis(
    score: float | None, *, previous: str | None, green: float, yellow: float, margin: float
) -> str:
    """docs/health.md: to leave yesterday's band the score must clear the threshold by `margin`.

    Falling, the thresholds are lowered by the margin (green stays green down to green - margin); rising,
    they are raised by it (red becomes yellow only at yellow + margin). Without a previous band: plain bands.
    """
    if score is None:
        return ""
    plain = strict_band(score, green=green, yellow=yellow)
    if previous not in BAND_RANK or plain == previous:
        return plain
    if BAND_RANK[plain] < BAND_RANK[previous]:
        moved = strict_band(score, green=green - margin, yellow=yellow - margin)
        return moved if BAND_RANK[moved] < BAND_RANK[previous] else previous
    moved = strict_band(score, green=green + margin, yellow=yellow + margin)
    return moved if BAND_RANK[moved] > BAND_RANK[previous] else previous


def round_to_total(values: list[float], total: float, places: int = 1) -> list[float]:
    """Round `values` to `places` decimals so that they add up to `total` exactly (largest remainder), so a
    components table always sums to the score it explains."""
    unit = 10**places
    scaled = [v * unit for v in values]
    floors = [math.floor(v) for v in scaled]
    missing = round(total * unit) - sum(floors)
    if missing > 0:
        remainders = [v - f for v, f in zip(scaled, floors, strict=True)]
        for i in sorted(range(len(values)), key=remainders.__getitem__, reverse=True)[:missing]:
            floors[i] += 1
    return [f / unit for f in floors]


def score_customer(
    config: ModelConfig, readings: dict[str, Reading | None], *, previous_band: str | None = None
) -> tuple[Decimal | None, str, list[dict[str, Any]]]:
    """Score, band and components of one customer from its factor readings (docs/health.md).

    Missing factors are left out and the others' weights rescaled; with less than half of the total weight
    present the score is null ("not enough data"); excused factors (not applicable) count in neither.
    One customer through `score_many`: one implementation."""
    bands = {0: previous_band} if previous_band else {}
    (result,) = score_many(config, {0: readings}, previous_bands=bands)
    return result.score, result.band, result.components


def gather(
    config: ModelConfig, *, customer_ids: list[int], day: dt.date
) -> dict[int, dict[str, Reading | None]]:
    """Each enabled factor's readings for `customer_ids` as of `day`: one factor = a query or two, whatever
    the number of customers."""
    registry = load()
    by_customer: dict[int, dict[str, Reading | None]] = {cid: {} for cid in customer_ids}
    with shared_scan():  # the usage factors share one pass over the rollup
        for f in config.active:
            for cid, reading in registry[f.key].readings(customer_ids=customer_ids, day=day).items():
                if cid in by_customer:
                    by_customer[cid][f.key] = reading
    return by_customer


def score_many(
    config: ModelConfig,
    readings: dict[int, dict[str, Reading | None]],
    *,
    previous_bands: dict[int, str],
    components: bool = True,
) -> list[Result]:
    """`score_customer` for many customers (`components=False`: score and band only, for the model editor's
    preview, which shows no components), with what depends only on the model and on which factors are
    present (total and present weight, the "enough data" rule, the rounded rescaled weights) worked out once
    per combination instead of once per customer. Same arithmetic in the same order, so the same results
    (tests/metrics/health/test_fast_paths.py compares it with the plain per-customer formula)."""
    factors = config.active
    keys = [f.key for f in factors]
    weights = [f.weight for f in factors]
    anchors = [(f.bad, f.good) for f in factors]
    total_weight = sum(weights)
    green, yellow, margin = config.green, config.yellow, config.margin
    indices = range(len(factors))
    # Per combination of present factors: their indices, their weight, "enough data", the rescaled weights.
    plans: dict[
        tuple[tuple[bool, ...], tuple[bool, ...]], tuple[list[int], float, bool, dict[int, float]]
    ] = {}
    iso: dict[dt.date, str] = {}  # as_of dates repeat across customers: format each once
    results = []
    for cid, customer_readings in readings.items():
        get = customer_readings.get
        got = [get(k) for k in keys]
        mask = tuple([r is not None and r.value is not None for r in got])
        excused = tuple([r is not None and r.excused for r in got])
        plan = plans.get((mask, excused))
        if plan is None:
            present = [i for i in indices if mask[i]]
            present_weight = sum(weights[i] for i in present)
            # docs/health.md#missing-is-not-perfect: excused factors are left out of the weight compared with
            counted_weight = (
                sum(weights[i] for i in indices if not excused[i]) if any(excused) else total_weight
            )
            enough = counted_weight > 0 and present_weight > 0 and present_weight * 2 >= counted_weight
            shares = (
                round_to_total([100.0 * weights[i] / present_weight for i in present], 100.0)
                if enough
                else []
            )
            plan = plans[(mask, excused)] = (
                present,
                present_weight,
                enough,
                dict(zip(present, shares, strict=False)),
            )
        present, present_weight, enough, share_of = plan
        points = [0.0] * len(keys)
        for i in present:
            bad, good = anchors[i]
            points[i] = factor_score(got[i].value, bad=bad, good=good)
        score: Decimal | None = None
        contribution_of: dict[int, float] = {}
        if enough:
            exact = sum([weights[i] * points[i] for i in present]) / present_weight
            score = Decimal(str(round(exact, 1)))
            if components:
                parts = [weights[i] * points[i] / present_weight for i in present]
                contribution_of = dict(zip(present, round_to_total(parts, float(score)), strict=True))
        parts_out: list[dict[str, Any]] = []
        for i in indices if components else ():
            if mask[i]:
                reading = got[i]
                as_of = reading.as_of
                if as_of and as_of not in iso:
                    iso[as_of] = as_of.isoformat()
                parts_out.append(
                    {
                        "factor": keys[i],
                        "raw_value": round(reading.value, 4),
                        "score": round(points[i], 1),
                        "weight": share_of[i] if enough else None,
                        "contribution": contribution_of[i] if enough else None,
                        "as_of": iso[as_of] if as_of else None,
                        "detail": reading.detail,
                    }
                )
            else:
                parts_out.append(
                    {
                        "factor": keys[i],
                        "raw_value": None,
                        "score": None,
                        "weight": 0.0 if enough else None,
                        "contribution": 0.0 if enough else None,
                        "as_of": None,
                        "detail": got[i].detail if got[i] is not None and got[i].excused else {},
                    }
                )
        band = band_with_hysteresis(
            float(score) if score is not None else None,
            previous=previous_bands.get(cid),
            green=green,
            yellow=yellow,
            margin=margin,
        )
        results.append(Result(cid, score, band, parts_out))
    return results
