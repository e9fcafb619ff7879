"""The backtest (docs/health.md#backtest): how well a health model version predicts churn on this install's
own history. Plain functions returning dataclasses; nothing is written.

For each as-of date D (the 1st of each month in [start, end]):

- the **population** is the customers paying on D per the MRR ledger (docs/metrics.md: the MRR of a customer
  on D is the `mrr` of its latest row with effective_date <= D; paying = that MRR > 0);
- each is **scored** as of D through the engine exactly as the recompute scores a day (`gather` the readings
  as of D, `score_many` with `ModelConfig.of(model)`), chunk by chunk of `services.CHUNK_SIZE` customers. The
  band is the plain `strict_band`: a backtest has no previous day's band, so no leave margin (hysteresis)
  applies. A null score is "not enough data". The factors read only data dated up to D (usage days,
  touchpoints, pulses, survey answers, tickets opened and not yet resolved at the end of D);
- the **churn date** after D is the effective_date of the customer's first ledger row after D with mrr = 0
  (its MRR went to 0). The label for a horizon H is "churn date in (D, D + H]". Labels look forward by
  design; a row whose horizon reaches past the last ledger row is still labelled from the rows that exist
  (so a churn not yet recorded counts as no churn: `rows_beyond_data` says how many rows that concerns).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Max

from ..models import Band, HealthModel, MrrEntry
from .engine import ModelConfig, gather, score_many, strict_band
from .factors import Reading
from .services import CHUNK_SIZE, cyclic_gc_paused

DEFAULT_HORIZONS = (30, 60, 90)
DEFAULT_LEAD = 30
DEFAULT_RESAMPLES = 200
DEFAULT_SEED = 0
BANDS = (Band.RED.value, Band.YELLOW.value, Band.GREEN.value, "none")  # "none": not enough data
WARNING_BANDS = {Band.RED.value, Band.YELLOW.value}


# --- Pure metric helpers (tests check them on hand data) ----------------------------------------------------


def auc(
    risks: Sequence[float], labels: Sequence[bool], weights: Sequence[float] | None = None
) -> float | None:
    """ROC AUC of `risks` for `labels` (True = churned): the Mann-Whitney probability that a churner's risk
    is above a non-churner's, ties counted half. `weights` repeats a row that many times (the bootstrap).
    None when either class is empty."""
    order = sorted(range(len(risks)), key=risks.__getitem__)
    return _auc_ordered([risks[i] for i in order], [labels[i] for i in order], _take(weights, order))


def _take(weights: Sequence[float] | None, order: Sequence[int]) -> list[float] | None:
    return None if weights is None else [weights[i] for i in order]


def _auc_ordered(
    risks: Sequence[float], labels: Sequence[bool], weights: Sequence[float] | None
) -> float | None:
    """`auc` of rows already sorted by risk (ascending): one pass, each run of equal risks at once."""
    neg_below = 0.0  # weight of non-churners with a lower risk than the current run
    wins = 0.0
    pos_total = neg_total = 0.0
    i, n = 0, len(risks)
    while i < n:
        j = i
        pos = neg = 0.0
        while j < n and risks[j] == risks[i]:
            w = 1.0 if weights is None else weights[j]
            if labels[j]:
                pos += w
            else:
                neg += w
            j += 1
        wins += pos * neg_below + 0.5 * pos * neg
        neg_below += neg
        pos_total += pos
        neg_total += neg
        i = j
    if pos_total == 0 or neg_total == 0:
        return None
    return wins / (pos_total * neg_total)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th quantile (0-1) of ascending values, linear between the two nearest ranks."""
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_auc(
    risks: Sequence[float],
    labels: Sequence[bool],
    groups: Sequence[Any],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """95 % interval (2.5th and 97.5th percentiles) of the AUC over `resamples` resamples of the GROUPS
    (customers) with replacement: a customer drawn k times counts with all its rows k times. Seeded, so the
    same input and seed give the same interval. Resamples where a class is empty are skipped; None when no
    resample has both classes."""
    order = sorted(range(len(risks)), key=risks.__getitem__)
    ordered_risks = [risks[i] for i in order]
    ordered_labels = [labels[i] for i in order]
    distinct = sorted(set(groups), key=repr)  # a fixed order, whatever the input order of the groups
    index = {g: k for k, g in enumerate(distinct)}
    ordered_groups = [index[groups[i]] for i in order]
    rng = random.Random(seed)  # noqa: S311 - a reproducible statistic, not a secret
    values = []
    for _ in range(resamples):
        counts = [0] * len(distinct)
        for _ in distinct:
            counts[rng.randrange(len(distinct))] += 1
        value = _auc_ordered(ordered_risks, ordered_labels, [counts[g] for g in ordered_groups])
        if value is not None:
            values.append(value)
    if not values:
        return None
    values.sort()
    return (percentile(values, 0.025), percentile(values, 0.975))


def rate(churned: int, rows: int) -> float | None:
    return churned / rows if rows else None


def lift(rate_of: float | None, base_rate: float | None) -> float | None:
    """The churn-rate ratio rate_of / base_rate; None when either is unknown or the base is 0."""
    if rate_of is None or not base_rate:
        return None
    return rate_of / base_rate


@dataclass(frozen=True)
class CalibrationBin:
    decile: int  # 1 = the lowest scores
    count: int
    min_score: float
    max_score: float
    mean_score: float
    churned: int
    churn_rate: float


def calibration(scores: Sequence[float], labels: Sequence[bool], *, bins: int = 10) -> list[CalibrationBin]:
    """Deciles of score: the rows sorted by score (stable: equal scores keep their input order) and cut by
    rank into `bins` groups as equal as possible (row k of n goes to bin floor(k * bins / n)), so equal scores
    may straddle a boundary. Empty bins (fewer rows than bins) are left out."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    grouped: dict[int, list[int]] = defaultdict(list)
    for k, i in enumerate(order):
        grouped[k * bins // len(order)].append(i)
    out = []
    for b in sorted(grouped):
        members = grouped[b]
        values = [scores[i] for i in members]
        churned = sum(1 for i in members if labels[i])
        out.append(
            CalibrationBin(
                decile=b + 1,
                count=len(members),
                min_score=min(values),
                max_score=max(values),
                mean_score=round(sum(values) / len(values), 2),
                churned=churned,
                churn_rate=churned / len(members),
            )
        )
    return out


def early_warning_share(bands_at_lead: Sequence[str | None]) -> float | None:
    """Share of churners warned: red or yellow when scored `lead` days before their churn date. One entry per
    churner: its band then, "" when unscored (not enough data), None when it was not paying then; only red and
    yellow count as warned. None without churners."""
    if not bands_at_lead:
        return None
    return sum(1 for b in bands_at_lead if b in WARNING_BANDS) / len(bands_at_lead)


def alarm_rate(bands: Iterable[str]) -> float | None:
    """Share of scored rows (band not "") that are red or yellow: what the warning costs in CSM attention."""
    scored = [b for b in bands if b]
    return sum(1 for b in scored if b in WARNING_BANDS) / len(scored) if scored else None


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The 1st of each month in [start, end]."""
    day = start.replace(day=1)
    if day < start:
        day = _next_month(day)
    out = []
    while day <= end:
        out.append(day)
        day = _next_month(day)
    return out


def _next_month(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 1, month=1) if day.month == 12 else day.replace(month=day.month + 1)


# --- The ledger, one customer's rows at a time -------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """One customer's ledger rows in date order."""

    dates: list[dt.date]
    mrr: list[Decimal]

    def mrr_on(self, day: dt.date) -> Decimal:
        """docs/metrics.md: the mrr of the latest row with effective_date <= day (0 if none)."""
        k = bisect.bisect_right(self.dates, day)
        return self.mrr[k - 1] if k else Decimal(0)

    def churn_after(self, day: dt.date) -> dt.date | None:
        """The effective_date of the first row after `day` with mrr 0 (for a customer paying on `day`: the
        day its MRR went to 0)."""
        for k in range(bisect.bisect_right(self.dates, day), len(self.dates)):
            if self.mrr[k] == 0:
                return self.dates[k]
        return None

    def churn_dates(self) -> list[dt.date]:
        """Every day the MRR went from > 0 to 0."""
        return [d for k, d in enumerate(self.dates) if k and self.mrr[k] == 0 and self.mrr[k - 1] > 0]


def _ledgers(customer_ids: Sequence[int]) -> dict[int, Ledger]:
    rows = (
        MrrEntry.objects.filter(customer_id__gte=customer_ids[0], customer_id__lte=customer_ids[-1])
        .order_by("customer_id", "effective_date")
        .values_list("customer_id", "effective_date", "mrr")
    )
    out: dict[int, Ledger] = {}
    for cid, day, mrr in rows:
        ledger = out.setdefault(cid, Ledger([], []))
        ledger.dates.append(day)
        ledger.mrr.append(mrr)
    return out


def _ledger_chunks(chunk_size: int) -> Iterable[list[int]]:
    ids = list(MrrEntry.objects.order_by("customer_id").values_list("customer_id", flat=True).distinct())
    for i in range(0, len(ids), chunk_size):
        yield ids[i : i + chunk_size]


# --- Scoring as of a day ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    score: float | None  # None: not enough data
    band: str  # strict band; "" when the score is None
    factors: dict[str, float]  # each present factor's own 0-100 score
    raw: dict[str, float] = field(default_factory=dict)  # each present factor's raw value (fitting)


def score_as_of(config: ModelConfig, *, customer_ids: list[int], day: dt.date) -> dict[int, Scored]:
    """What the recompute would compute for `customer_ids` on `day` (gather, then score_many), with the plain
    band: no previous band, hence no hysteresis."""
    if not customer_ids:
        return {}
    readings: dict[int, dict[str, Reading | None]] = gather(config, customer_ids=customer_ids, day=day)
    out = {}
    for r in score_many(config, readings, previous_bands={}):
        score = float(r.score) if r.score is not None else None
        band = strict_band(score, green=config.green, yellow=config.yellow) if score is not None else ""
        factors = {c["factor"]: float(c["score"]) for c in r.components if c["score"] is not None}
        got = readings[r.customer_id]
        raw = {k: float(v.value) for k, v in got.items() if v is not None and v.value is not None}
        out[r.customer_id] = Scored(score, band, factors, raw)
    return out


# --- The report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One scored (customer, as-of date) of the population."""

    customer_id: int
    as_of: dt.date
    score: float | None
    band: str
    factors: dict[str, float]
    churn_date: dt.date | None
    raw: dict[str, float] = field(default_factory=dict, compare=False)  # present factors' raw values

    def churned_within(self, horizon: int) -> bool:
        return self.churn_date is not None and self.churn_date <= self.as_of + dt.timedelta(days=horizon)


@dataclass(frozen=True)
class BandRate:
    rows: int
    churned: int
    churn_rate: float | None


@dataclass(frozen=True)
class FactorReport:
    factor: str
    coverage: float | None  # share of the rows where the factor is present
    rows: int  # rows where it is present
    auc: float | None  # of (100 - factor score) among those rows


@dataclass(frozen=True)
class HorizonReport:
    horizon: int
    rows: int  # customer-dates
    churned_rows: int
    customers: int
    churned_customers: int  # customers with at least one churned row
    rows_beyond_data: int  # rows whose horizon ends after the last ledger row
    scored_rows: int
    auc: float | None
    auc_ci: tuple[float, float] | None  # bootstrap 95 % over customers
    bands: dict[str, BandRate]  # red, yellow, green, none
    lift_red: float | None  # churn rate of red / of green
    lift_red_yellow: float | None  # churn rate of red + yellow / of green
    not_enough_data_share: float | None
    not_enough_data_churn_rate: float | None
    calibration: list[CalibrationBin]
    factors: list[FactorReport]


@dataclass(frozen=True)
class EarlyWarning:
    lead_days: int
    window_start: dt.date
    window_end: dt.date  # `end` + the longest horizon
    churners: int  # churn events (customer, churn date) in the window
    warned: int  # red or yellow `lead_days` before
    share: float | None
    not_paying: int  # not paying `lead_days` before (count as not warned)
    unscored: int  # paying but not enough data (count as not warned)
    alarm_rate: float | None  # share of the scored customer-rows that are red or yellow
    scored_rows: int


@dataclass(frozen=True)
class BacktestReport:
    model_version: int | None
    start: dt.date
    end: dt.date
    as_of_dates: list[dt.date]
    ledger_until: dt.date | None  # the last ledger row's date
    resamples: int
    seed: int
    horizons: list[HorizonReport]
    early_warning: EarlyWarning
    rows: list[Row] = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (dates as ISO strings), without the per-row list."""
        data = asdict(self)
        del data["rows"]
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _model(version: int | None) -> HealthModel:
    qs = HealthModel.objects.prefetch_related("factors")
    model = qs.current() if version is None else qs.filter(version=version).first()
    if model is None:
        raise LookupError(f"No health model version {version}." if version else "No health model.")
    return model


def run_backtest(
    *,
    start: dt.date,
    end: dt.date,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    model_version: int | None = None,
    lead: int = DEFAULT_LEAD,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    chunk_size: int = CHUNK_SIZE,
    config: ModelConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestReport:
    """The backtest of the model version `model_version` (default: the one in force) over the as-of dates
    of [start, end] (see the module docstring). `config` backtests an unsaved configuration instead (a
    proposal, e.g. a fitted model; `model_version` is then ignored and the report's is the config's, None
    when unsaved). `progress(done, total)` is called as the work advances (a background job's progress
    bar; `total` is fixed for the run). Raises LookupError for an unknown version, ValueError for bad
    arguments."""
    if end < start:
        raise ValueError("end must not be before start.")
    if not horizons or min(horizons) < 1 or lead < 1:
        raise ValueError("horizons and lead must be at least 1 day.")
    if config is None:
        config = ModelConfig.of(_model(model_version))
    as_of_dates = month_starts(start, end)
    window_end = end + dt.timedelta(days=max(horizons))
    rows: list[Row] = []
    at_lead: list[str | None] = []  # early warning: each churner's band `lead` days before
    chunks = list(_ledger_chunks(chunk_size))
    total = len(chunks) * (len(as_of_dates) + 1)
    done = 0
    if progress:
        progress(done, total)
    for ids in chunks:
        ledgers = _ledgers(ids)
        with cyclic_gc_paused():
            for day in as_of_dates:
                paying = [cid for cid in ids if cid in ledgers and ledgers[cid].mrr_on(day) > 0]
                for cid, s in score_as_of(config, customer_ids=paying, day=day).items():
                    churn = ledgers[cid].churn_after(day)
                    rows.append(Row(cid, day, s.score, s.band, s.factors, churn, s.raw))
                done += 1
                if progress:
                    progress(done, total)
            at_lead.extend(_bands_before_churn(config, ledgers, start=start, end=window_end, lead=lead))
            done += 1
            if progress:
                progress(done, total)
    ledger_until = MrrEntry.objects.aggregate(last=Max("effective_date"))["last"]
    return BacktestReport(
        model_version=config.version,
        start=start,
        end=end,
        as_of_dates=as_of_dates,
        ledger_until=ledger_until,
        resamples=resamples,
        seed=seed,
        horizons=[
            horizon_report(rows, h, config=config, ledger_until=ledger_until, resamples=resamples, seed=seed)
            for h in horizons
        ],
        early_warning=EarlyWarning(
            lead_days=lead,
            window_start=start,
            window_end=window_end,
            churners=len(at_lead),
            warned=sum(1 for b in at_lead if b in WARNING_BANDS),
            share=early_warning_share(at_lead),
            not_paying=sum(1 for b in at_lead if b is None),
            unscored=sum(1 for b in at_lead if b == ""),
            alarm_rate=alarm_rate(r.band for r in rows),
            scored_rows=sum(1 for r in rows if r.score is not None),
        ),
        rows=rows,
    )


def _bands_before_churn(
    config: ModelConfig, ledgers: dict[int, Ledger], *, start: dt.date, end: dt.date, lead: int
) -> list[str | None]:
    """For each churn event (customer, C) with C in [start, end]: the band as of C - lead ("" unscored, None
    not paying then)."""
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    events = []
    for cid, ledger in ledgers.items():
        for churn in ledger.churn_dates():
            if start <= churn <= end:
                day = churn - dt.timedelta(days=lead)
                paying = ledger.mrr_on(day) > 0
                events.append((cid, day, paying))
                if paying:
                    by_day[day].append(cid)
    scored = {
        (cid, day): s.band
        for day, cids in by_day.items()
        for cid, s in score_as_of(config, customer_ids=sorted(set(cids)), day=day).items()
    }
    return [scored[(cid, day)] if paying else None for cid, day, paying in events]


def horizon_report(
    rows: Sequence[Row],
    horizon: int,
    *,
    config: ModelConfig,
    ledger_until: dt.date | None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> HorizonReport:
    labels = [r.churned_within(horizon) for r in rows]
    scored = [(r, y) for r, y in zip(rows, labels, strict=True) if r.score is not None]
    risks = [100.0 - r.score for r, _ in scored]
    scored_labels = [y for _, y in scored]
    by_band: dict[str, list[bool]] = {b: [] for b in BANDS}
    for r, y in zip(rows, labels, strict=True):
        by_band[r.band or "none"].append(y)
    bands = {b: BandRate(len(ys), sum(ys), rate(sum(ys), len(ys))) for b, ys in by_band.items()}
    red_yellow = by_band[Band.RED] + by_band[Band.YELLOW]
    factors = []
    for f in config.active:
        present = [
            (100.0 - r.factors[f.key], y) for r, y in zip(rows, labels, strict=True) if f.key in r.factors
        ]
        factors.append(
            FactorReport(
                factor=f.key,
                coverage=rate(len(present), len(rows)),
                rows=len(present),
                auc=auc([p for p, _ in present], [y for _, y in present]),
            )
        )
    horizon_days = dt.timedelta(days=horizon)
    return HorizonReport(
        horizon=horizon,
        rows=len(rows),
        churned_rows=sum(labels),
        customers=len({r.customer_id for r in rows}),
        churned_customers=len({r.customer_id for r, y in zip(rows, labels, strict=True) if y}),
        rows_beyond_data=sum(
            1 for r in rows if ledger_until is None or r.as_of + horizon_days > ledger_until
        ),
        scored_rows=len(scored),
        auc=auc(risks, scored_labels),
        auc_ci=bootstrap_auc(
            risks, scored_labels, [r.customer_id for r, _ in scored], resamples=resamples, seed=seed
        ),
        bands=bands,
        lift_red=lift(bands[Band.RED].churn_rate, bands[Band.GREEN].churn_rate),
        lift_red_yellow=lift(rate(sum(red_yellow), len(red_yellow)), bands[Band.GREEN].churn_rate),
        not_enough_data_share=rate(bands["none"].rows, len(rows)),
        not_enough_data_churn_rate=bands["none"].churn_rate,
        calibration=calibration([r.score for r, _ in scored], scored_labels),
        factors=factors,
    )
