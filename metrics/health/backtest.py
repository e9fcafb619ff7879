"""The backtest (docs/health.md#backtest): how well a health model version predicts churn on this install's
own history. Plain functions returning dataclasses; nothing is written.

For each as-of date D (the 1st of each month in [start, end]):

- the **population** is the customers paying on D per the MRR ledger (docs/metrics.md: the MRR of a customer
  on D is the `mrr` of its latest row with effective_date <= D; paying = that MRR > 0);
- each is **read** as of D through the engine exactly as the recompute reads a day (`gather`, chunk by chunk
  of `services.CHUNK_SIZE` customers), once (`collect`): every factor's raw value, and whether it was
  excused, in columns. The factors read only data dated up to D (usage days, touchpoints, pulses, survey
  answers, tickets opened and not yet resolved at the end of D);
- the rows are then **scored** under a model (`score_rows`: the engine's arithmetic, vectorised, in the same
  order of operations). The band is the plain `strict_band`: a backtest has no previous day's band, so no
  leave margin (hysteresis) applies. A null score is "not enough data". One collection serves several models
  (the fit's proposal beside the current version);
- the **churn date** after D is the effective_date of the customer's first ledger row after D with mrr = 0
  (its MRR went to 0). The label for a horizon H is "churn date in (D, D + H]". Labels look forward by
  design; a row whose horizon reaches past the last ledger row is still labelled from the rows that exist
  (so a churn not yet recorded counts as no churn: `rows_beyond_data` says how many rows that concerns);
- **early warning** looks at each churner on the last as-of date at least `lead` days before its churn.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, connections
from django.db.models import Max

from core.sql import analytic_transaction

from ..models import Band, HealthModel, HealthSnapshot, MrrEntry
from .engine import ModelConfig, gather
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
    risks_a = np.asarray(risks, dtype=float)
    if risks_a.size == 0:
        return None
    order = np.argsort(risks_a, kind="stable")
    ranked = _Ranked(risks_a[order], np.asarray(labels, dtype=bool)[order])
    return ranked.auc(None if weights is None else np.asarray(weights, dtype=float)[order])


class _Ranked:
    """Rows sorted by risk, cut into runs of equal risk once, so that each (re)weighting costs O(n)."""

    def __init__(self, sorted_risks: np.ndarray, sorted_labels: np.ndarray) -> None:
        self.labels = sorted_labels
        n = sorted_risks.size
        starts = np.flatnonzero(np.r_[True, sorted_risks[1:] != sorted_risks[:-1]]) if n else np.array([0])
        self.starts = starts

    def auc(self, weights: np.ndarray | None) -> float | None:
        if self.labels.size == 0:
            return None
        w = np.ones(self.labels.size) if weights is None else weights
        pos = np.add.reduceat(np.where(self.labels, w, 0.0), self.starts)
        neg = np.add.reduceat(np.where(self.labels, 0.0, w), self.starts)
        pos_total, neg_total = float(pos.sum()), float(neg.sum())
        if pos_total == 0 or neg_total == 0:
            return None
        neg_below = np.cumsum(neg) - neg  # non-churners' weight with a lower risk than each run
        wins = float((pos * neg_below).sum() + 0.5 * (pos * neg).sum())
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
    risks_a = np.asarray(risks, dtype=float)
    if risks_a.size == 0 or resamples < 1:
        return None
    order = np.lexsort((np.arange(risks_a.size), risks_a))
    ranked = _Ranked(risks_a[order], np.asarray(labels, dtype=bool)[order])
    distinct = sorted(set(groups), key=repr)  # a fixed order, whatever the input order of the groups
    index = {g: k for k, g in enumerate(distinct)}
    ordered_groups = np.array([index[groups[i]] for i in order.tolist()], dtype=np.int64)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        counts = np.bincount(rng.integers(0, len(distinct), len(distinct)), minlength=len(distinct))
        value = ranked.auc(counts[ordered_groups].astype(float))
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


def _ledgers() -> dict[int, Ledger]:
    """Every customer's ledger (one query, streamed)."""
    rows = (
        MrrEntry.objects.order_by("customer_id", "effective_date")
        .values_list("customer_id", "effective_date", "mrr")
        .iterator(chunk_size=20_000)
    )
    out: dict[int, Ledger] = {}
    for cid, day, mrr in rows:
        ledger = out.get(cid)
        if ledger is None:
            ledger = out[cid] = Ledger([], [])
        ledger.dates.append(day)
        ledger.mrr.append(mrr)
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
    # warned among the churners that were paying `lead_days` before (a customer that signed up less than
    # `lead_days` before leaving cannot be warned that far ahead)
    share_of_paying: float | None
    unscored: int  # paying but not enough data (count as not warned)
    alarm_rate: float | None  # share of the scored customer-rows that are red or yellow
    scored_rows: int


# --- Collection: every factor's raw value for each (paying customer, as-of date), once ---------------------


@dataclass(frozen=True)
class Collected:
    """The backtest's rows, columnar: one per (customer paying on an as-of date, that date), with every
    collected factor's raw value as of the date (NaN: missing) and whether it was excused. Collected once,
    then scored under any model whose factors it holds (a proposal beside the current version, the fit)."""

    as_of_dates: list[dt.date]
    keys: tuple[str, ...]
    customer: np.ndarray  # int64
    day: np.ndarray  # int64: index into as_of_dates
    churn_in: np.ndarray  # int64: days from the as-of date to the churn date; NO_CHURN when none
    raw: np.ndarray  # float64 (rows, keys)
    excused: np.ndarray  # bool (rows, keys)
    # early warning: one per churn event in the window, the row of the customer on the last as-of date at
    # least `lead` days before its churn date (-1: it was not paying then)
    lead: int
    warning_rows: np.ndarray  # int64
    window: tuple[dt.date, dt.date]
    ledger_until: dt.date | None

    @property
    def size(self) -> int:
        return int(self.customer.size)


NO_CHURN = 1 << 40


def collect(
    config: ModelConfig,
    *,
    start: dt.date,
    end: dt.date,
    lead: int = DEFAULT_LEAD,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    snapshots: bool = True,
    as_of_dates: Sequence[dt.date] | None = None,
) -> Collected:
    """Gather the readings of `config`'s enabled factors for every customer paying on each as-of date of
    [start, end], chunk by chunk through the engine's `gather` (exactly what the recompute reads for that
    day), date by date so that each date's population statements (relative usage) run once per date.

    `snapshots`: where the day's stored snapshot of a customer holds a factor (its raw value and whether it
    was excused), that is read instead: the recompute of that day computed exactly this from the data up to
    the day (raw values as stored, to 4 decimals). Only what the snapshots lack goes through `gather` (a
    factor the model of that day did not have, a customer without a snapshot).

    `workers` dates are read at once, each on its own database connection (threads: the time goes into SQL,
    which runs outside the GIL); default `settings.CSHUB_BACKTEST_WORKERS` on PostgreSQL outside a
    transaction, else 1 (a thread's connection would not see a test's uncommitted rows; SQLite serialises).

    `as_of_dates`: a grid of one's own instead of the month starts of [start, end] (a benchmark that judges
    the early warning on every day, as a daily recompute shows it); the early warning then looks at the last
    grid date on or before each churn date minus `lead`, over churn dates `lead` days after the first grid
    date to `lead` days after the last."""
    grid_end = None
    if as_of_dates is None:
        as_of_dates = month_starts(start, end)
    else:
        as_of_dates = sorted(set(as_of_dates))
        grid_end = as_of_dates[-1] + dt.timedelta(days=1) if as_of_dates else None
    keys = tuple(f.key for f in config.active)
    ledgers = _ledgers()
    ids = sorted(ledgers)
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    total = max(1, len(chunks) * len(as_of_dates))
    if workers is None:
        workers = _default_workers()
    lock = threading.Lock()
    done = [0]

    def advanced() -> None:
        if progress:
            with lock:
                done[0] += 1
                progress(done[0], total)

    def one_date(d: int) -> _DateRows:
        day = as_of_dates[d]
        paying = np.array([cid for cid in ids if ledgers[cid].mrr_on(day) > 0], dtype=np.int64)
        n, k = paying.size, len(keys)
        raw = np.full((n, k), np.nan)
        excused = np.zeros((n, k), dtype=bool)
        have = np.zeros((n, k), dtype=bool)
        with cyclic_gc_paused(), analytic_transaction():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # the usage scans' distinct counts sort in memory
                    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
            if snapshots and n:
                cust, col, value, flag = _stored_arrays(day, keys)
                pos = np.minimum(np.searchsorted(paying, cust), n - 1)
                hit = paying[pos] == cust
                raw[pos[hit], col[hit]] = value[hit]
                excused[pos[hit], col[hit]] = flag[hit]
                have[pos[hit], col[hit]] = True
            for chunk in chunks:
                lo = int(np.searchsorted(paying, chunk[0], side="left"))
                hi = int(np.searchsorted(paying, chunk[-1], side="right"))
                if hi > lo:
                    _fill_lacking(config, keys, day, paying, raw, excused, have, int(lo), hi)
                advanced()
        churn_in = np.array(
            [
                (churn - day).days if (churn := ledgers[cid].churn_after(day)) else NO_CHURN
                for cid in paying.tolist()
            ],
            dtype=np.int64,
        )
        return _DateRows(paying, churn_in, raw, excused)

    if progress:
        progress(0, total)
    if workers > 1 and len(as_of_dates) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            per_date = list(pool.map(_on_own_connection(one_date), range(len(as_of_dates))))
    else:
        per_date = [one_date(d) for d in range(len(as_of_dates))]
    offsets = np.cumsum([0] + [r.customer.size for r in per_date])

    def row_of(cid: int, d: int) -> int:
        """The row of (customer, as-of date index), -1 when it was not paying then."""
        customers = per_date[d].customer
        pos = int(np.searchsorted(customers, cid))
        return int(offsets[d]) + pos if pos < customers.size and customers[pos] == cid else -1

    window, warning_rows = _warning_rows(ledgers, as_of_dates, row_of, lead=lead, grid_end=grid_end)
    k = len(keys)
    return Collected(
        as_of_dates=as_of_dates,
        keys=keys,
        customer=np.concatenate([r.customer for r in per_date]) if per_date else np.zeros(0, np.int64),
        day=np.concatenate([np.full(r.customer.size, d, np.int64) for d, r in enumerate(per_date)])
        if per_date
        else np.zeros(0, np.int64),
        churn_in=np.concatenate([r.churn_in for r in per_date]) if per_date else np.zeros(0, np.int64),
        raw=np.concatenate([r.raw for r in per_date]) if per_date else np.zeros((0, k)),
        excused=np.concatenate([r.excused for r in per_date]) if per_date else np.zeros((0, k), bool),
        lead=lead,
        warning_rows=np.array(warning_rows, dtype=np.int64),
        window=window,
        ledger_until=MrrEntry.objects.aggregate(last=Max("effective_date"))["last"],
    )


@dataclass(frozen=True)
class _DateRows:
    customer: np.ndarray  # the paying customers of the date, ascending
    churn_in: np.ndarray
    raw: np.ndarray
    excused: np.ndarray


NAN = float("nan")


def _stored_arrays(day: dt.date, keys: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """The stored snapshots of `day`, one entry per (customer, factor of `keys`) they hold: customer ids,
    factor columns (index into `keys`), raw values (NaN: none) and excused flags. PostgreSQL unnests the
    components in SQL; elsewhere they are decoded here."""
    col_of = {key: j for j, key in enumerate(keys)}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT s.customer_id, c->>'factor', (c->>'raw_value')::float8,
                       COALESCE((c->'detail') ? 'excused', false)
                FROM {HealthSnapshot._meta.db_table} AS s
                CROSS JOIN LATERAL jsonb_array_elements(s.components) AS c
                WHERE s.date = %s AND c->>'factor' = ANY(%s)
                """,  # noqa: S608 - the table name is ours, the values are parameters
                [day, list(keys)],
            )
            rows = cursor.fetchall()
    else:
        rows = [
            (
                cid,
                c.get("factor"),
                c.get("raw_value"),
                bool((c.get("detail") or {}).get("excused")),
            )
            for cid, components in HealthSnapshot.objects.filter(date=day)
            .values_list("customer_id", "components")
            .iterator(chunk_size=5_000)
            for c in components
            if c.get("factor") in col_of
        ]
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0, dtype=bool)
    cust, factor, value, flag = zip(*rows, strict=True)
    return (
        np.array(cust, dtype=np.int64),
        np.array([col_of[f] for f in factor], dtype=np.int64),
        np.array(value, dtype=float),  # None -> NaN
        np.array(flag, dtype=bool),
    )


def _fill_lacking(
    config: ModelConfig,
    keys: tuple[str, ...],
    day: dt.date,
    paying: np.ndarray,
    raw: np.ndarray,
    excused: np.ndarray,
    have: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    """Rows lo..hi-1 (one chunk): what the stored snapshots did not hold, through `gather` (only the
    factors and customers lacking)."""
    lacking = ~have[lo:hi]
    cols = [j for j in range(len(keys)) if lacking[:, j].any()]
    if not cols:
        return
    rows = np.flatnonzero(lacking[:, cols].any(axis=1)) + lo
    need = {keys[j] for j in cols}
    partial = replace(config, factors=tuple(f for f in config.active if f.key in need))
    readings = gather(partial, customer_ids=paying[rows].tolist(), day=day)
    for r, cid in zip(rows.tolist(), paying[rows].tolist(), strict=True):
        got = readings[cid]
        for j in cols:
            if have[r, j]:
                continue
            reading = got.get(keys[j])
            if reading is not None and reading.value is not None:
                raw[r, j] = reading.value
            excused[r, j] = reading is not None and reading.excused


WORK_MEM = "64MB"


def _default_workers() -> int:
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, int(getattr(settings, "CSHUB_BACKTEST_WORKERS", 2)))


def _on_own_connection(fn: Callable[[int], Any]) -> Callable[[int], Any]:
    """`fn` run in a pool thread, which opens its own connection (Django's are per thread) and closes it."""

    def run(arg: int) -> Any:
        try:
            return fn(arg)
        finally:
            connections.close_all()

    return run


def _warning_rows(
    ledgers: dict[int, Ledger],
    as_of_dates: list[dt.date],
    row_of: Callable[[int, int], int],
    *,
    lead: int,
    grid_end: dt.date | None = None,
) -> tuple[tuple[dt.date, dt.date], list[int]]:
    """Early warning on the as-of grid (docs/health.md#backtest): each churn event C whose C - lead falls
    in [first as-of date, the month after the last) looks at the customer on the last as-of date on or
    before C - lead (between `lead` and `lead` + a month ahead of the churn): its row, or -1 when it was not
    paying then. Scoring the exact day C - lead instead would cost one population-wide pass per churn day."""
    if not as_of_dates:
        return (dt.date.min, dt.date.min), []
    gap = dt.timedelta(days=lead)
    after_last = grid_end or _next_month(as_of_dates[-1])  # the grid's next date after its last
    window = (as_of_dates[0] + gap, after_last + gap - dt.timedelta(days=1))
    out = []
    for cid in sorted(ledgers):
        for churn in ledgers[cid].churn_dates():
            if not window[0] <= churn <= window[1]:
                continue
            d = bisect.bisect_right(as_of_dates, churn - gap) - 1
            out.append(row_of(cid, d))
    return window, out


# --- Scoring collected rows under a model ------------------------------------------------------------------

BAND_CODES = {0: "", 1: Band.RED.value, 2: Band.YELLOW.value, 3: Band.GREEN.value}


@dataclass(frozen=True)
class Scoring:
    """Scores (NaN: not enough data), strict band codes (BAND_CODES) and each enabled factor's points
    (NaN: missing) of every collected row under one model."""

    score: np.ndarray
    band: np.ndarray
    points: dict[str, np.ndarray]


def score_rows(config: ModelConfig, data: Collected) -> Scoring:
    """engine.score_many's arithmetic on the collected rows, vectorised, in the same order of operations
    (factor by factor, in the model's order) so that the scores are the recompute's to the last digit; the
    band is the plain `strict_band` (a backtest has no previous day's band). Raises LookupError when the
    model has a factor the rows were not collected with."""
    n = data.size
    acc = np.zeros(n)
    present_weight = np.zeros(n)
    counted_weight = np.zeros(n)
    points: dict[str, np.ndarray] = {}
    for f in config.active:
        if f.key not in data.keys:
            raise LookupError(f"The rows were collected without the factor {f.key}.")
        j = data.keys.index(f.key)
        raw = data.raw[:, j]
        present = ~np.isnan(raw)
        with np.errstate(invalid="ignore"):
            share = (raw - f.bad) / (f.good - f.bad)
            p = 100.0 * np.minimum(1.0, np.maximum(0.0, share))
        points[f.key] = np.where(present, p, np.nan)
        acc = acc + np.where(present, f.weight * np.where(present, p, 0.0), 0.0)
        present_weight = present_weight + np.where(present, f.weight, 0.0)
        counted_weight = counted_weight + np.where(data.excused[:, j], 0.0, f.weight)
    enough = (counted_weight > 0) & (present_weight > 0) & (present_weight * 2 >= counted_weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        exact = np.where(enough, acc / np.where(present_weight > 0, present_weight, 1.0), np.nan)
    score = np.array([round(x, 1) if x == x else x for x in exact.tolist()], dtype=float)
    band = np.where(
        np.isnan(score), 0, np.where(score >= config.green, 3, np.where(score >= config.yellow, 2, 1))
    )
    return Scoring(score=score, band=band.astype(np.int8), points=points)


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
    collected: Collected = field(repr=False, compare=False)
    scoring: Scoring = field(repr=False, compare=False)

    @property
    def rows(self) -> list[Row]:
        """The scored rows one by one (for small populations: tests, a drill-down)."""
        data, scoring = self.collected, self.scoring
        out = []
        for k in range(data.size):
            score = float(scoring.score[k])
            churn = int(data.churn_in[k])
            day = data.as_of_dates[int(data.day[k])]
            out.append(
                Row(
                    customer_id=int(data.customer[k]),
                    as_of=day,
                    score=None if score != score else score,
                    band=BAND_CODES[int(scoring.band[k])],
                    factors={key: round(float(p[k]), 1) for key, p in scoring.points.items() if p[k] == p[k]},
                    churn_date=None if churn == NO_CHURN else day + dt.timedelta(days=churn),
                    raw={
                        key: float(data.raw[k, j])
                        for j, key in enumerate(data.keys)
                        if data.raw[k, j] == data.raw[k, j]
                    },
                )
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (dates as ISO strings), without the rows."""
        data = {
            f.name: asdict(v) if is_dataclass(v := getattr(self, f.name)) else v
            for f in fields(self)
            if f.name not in ("collected", "scoring")
        }
        data["horizons"] = [asdict(h) for h in self.horizons]
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
    collected: Collected | None = None,
) -> BacktestReport:
    """The backtest of the model version `model_version` (default: the one in force) over the as-of dates
    of [start, end] (see the module docstring). `config` backtests an unsaved configuration instead (a
    proposal, e.g. a fitted model; `model_version` is then ignored and the report's is the config's, None
    when unsaved). `collected` reuses rows already collected (same dates and lead, with every factor of the
    model) instead of reading them again. `progress(done, total)` is called as the work advances (a
    background job's progress bar). Raises LookupError for an unknown version, ValueError for bad
    arguments."""
    if end < start:
        raise ValueError("end must not be before start.")
    if not horizons or min(horizons) < 1 or lead < 1:
        raise ValueError("horizons and lead must be at least 1 day.")
    if config is None:
        config = ModelConfig.of(_model(model_version))
    if collected is None:
        collected = collect(config, start=start, end=end, lead=lead, chunk_size=chunk_size, progress=progress)
    return evaluate(config, collected, horizons=horizons, resamples=resamples, seed=seed)


def evaluate(
    config: ModelConfig,
    data: Collected,
    *,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> BacktestReport:
    """The report of `config` on rows already collected."""
    scoring = score_rows(config, data)
    bands = scoring.band
    warned_rows = data.warning_rows
    lead_bands = np.where(warned_rows >= 0, bands[np.maximum(warned_rows, 0)], -1) if warned_rows.size else []
    lead_bands = np.asarray(lead_bands, dtype=np.int64)
    scored = int((bands > 0).sum())
    alarms = int(((bands == 1) | (bands == 2)).sum())
    warned = int(((lead_bands == 1) | (lead_bands == 2)).sum())
    churners = int(lead_bands.size)
    return BacktestReport(
        model_version=config.version,
        start=data.as_of_dates[0] if data.as_of_dates else dt.date.min,
        end=data.as_of_dates[-1] if data.as_of_dates else dt.date.min,
        as_of_dates=data.as_of_dates,
        ledger_until=data.ledger_until,
        resamples=resamples,
        seed=seed,
        horizons=[
            horizon_report(data, scoring, h, config=config, resamples=resamples, seed=seed) for h in horizons
        ],
        early_warning=EarlyWarning(
            lead_days=data.lead,
            window_start=data.window[0],
            window_end=data.window[1],
            churners=churners,
            warned=warned,
            share=warned / churners if churners else None,
            not_paying=int((lead_bands == -1).sum()),
            share_of_paying=warned / paying if (paying := int((lead_bands != -1).sum())) else None,
            unscored=int((lead_bands == 0).sum()),
            alarm_rate=alarms / scored if scored else None,
            scored_rows=scored,
        ),
        collected=data,
        scoring=scoring,
    )


def _auc_of(risks: np.ndarray, labels: np.ndarray) -> float | None:
    if risks.size == 0:
        return None
    order = np.argsort(risks, kind="stable")
    return _Ranked(risks[order], labels[order]).auc(None)


def horizon_report(
    data: Collected,
    scoring: Scoring,
    horizon: int,
    *,
    config: ModelConfig,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> HorizonReport:
    n = data.size
    labels = data.churn_in <= horizon
    scored = ~np.isnan(scoring.score)
    risks = 100.0 - scoring.score[scored]
    scored_labels = labels[scored]
    bands: dict[str, BandRate] = {}
    for name, code in (("red", 1), ("yellow", 2), ("green", 3), ("none", 0)):
        members = scoring.band == code
        rows, churned = int(members.sum()), int((labels & members).sum())
        bands[name] = BandRate(rows, churned, rate(churned, rows))
    ry_rows = bands["red"].rows + bands["yellow"].rows
    ry_churned = bands["red"].churned + bands["yellow"].churned
    factors = []
    for f in config.active:
        points = scoring.points[f.key]
        present = ~np.isnan(points)
        factors.append(
            FactorReport(
                factor=f.key,
                coverage=rate(int(present.sum()), n),
                rows=int(present.sum()),
                auc=_auc_of(100.0 - np.round(points[present], 1), labels[present]),
            )
        )
    if data.as_of_dates and data.ledger_until is not None:
        ends = np.array([(d + dt.timedelta(days=horizon)) > data.ledger_until for d in data.as_of_dates])
        beyond = int(ends[data.day].sum()) if n else 0
    else:
        beyond = n
    customers = data.customer
    return HorizonReport(
        horizon=horizon,
        rows=n,
        churned_rows=int(labels.sum()),
        customers=int(np.unique(customers).size),
        churned_customers=int(np.unique(customers[labels]).size),
        rows_beyond_data=beyond,
        scored_rows=int(scored.sum()),
        auc=_auc_of(risks, scored_labels),
        auc_ci=bootstrap_auc(
            risks.tolist(), scored_labels.tolist(), customers[scored].tolist(), resamples=resamples, seed=seed
        ),
        bands=bands,
        lift_red=lift(bands["red"].churn_rate, bands["green"].churn_rate),
        lift_red_yellow=lift(rate(ry_churned, ry_rows), bands["green"].churn_rate),
        not_enough_data_share=rate(bands["none"].rows, n),
        not_enough_data_churn_rate=bands["none"].churn_rate,
        calibration=calibration(scoring.score[scored].tolist(), scored_labels.tolist()),
        factors=factors,
    )
