"""Fitting (docs/health.md#fitting): a health model's weights and anchors fitted to this install's own
history. Reads only; saving the proposal is the caller's (`manage.py fit_health_model --activate`).

- **Rows**: the backtest's rows (customers paying on each month start in [start, end], read as of that day
  through the engine, `backtest.collect`, once) with every candidate factor switched on, so each row carries
  each present factor's raw value. Label: churn within `horizon` days (default 60).
- **Candidates**: the current model's factors, then every other registered factor (e.g. tenure), oriented
  by its default anchors; then the usage of each of the most used features (`feature:<name>`, up to
  FEATURE_CANDIDATES, by customers using it in the 30 days up to `end`), each oriented by the history itself:
  where more of a feature goes with more churn on the training rows (its AUC above 0.5), more is bad.
- **Anchors**: per factor, the 10th and 90th percentiles of its raw values over the rows where present,
  oriented as the candidate (where lower is better, e.g. support load, bad is the 90th percentile).
  A factor present on under 5 % of the rows, or with no spread (10th = 90th percentile), is dropped.
- **Features**: each kept factor's 0-100 score with those anchors; a missing value is replaced by the
  factor's mean score over the training rows where present. Nothing else.
- **Model**: L2 logistic regression of churn on the standardised features, C from a fixed grid chosen by
  ROC AUC in 5-fold cross-validation grouped by customer (no customer in two folds); the folds depend only
  on the data and the seed.
- **Weights**: all features are 0-100 factor scores, so the health score reproduces the regression's
  ranking when weight_i is proportional to minus the coefficient per factor point (the standardised
  coefficient divided by the feature's standard deviation). Positive churn coefficients (a higher factor
  score going with MORE churn) are clipped to weight 0; the rest are rescaled to integers summing to 100.
- **Bands**: fitted to the proposal's scores on the training rows (`with_fitted_bands`: at most 20 % red or
  yellow, 5 % red); the margin is the current model's.
- **Report**: the proposal, the grouped-CV AUC of the plain regression (the yardstick), and the backtest of
  the current model and of the proposal on the same collected rows.

scikit-learn is imported here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from django.db.models import Count
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..models import HealthModel, UsageDaily
from .backtest import BacktestReport, Collected, auc, collect, evaluate, score_rows
from .engine import FactorConfig, ModelConfig, round_to_total
from .factors import load
from .factors.feature_usage import PREFIX, is_feature_key

MIN_CHURNED_CUSTOMERS = 30
MIN_COVERAGE = 0.05
LOW_PERCENTILE, HIGH_PERCENTILE = 10, 90
# The percentiles an anchor pair may take, counted from the bad side (for a factor where lower is better,
# (10, 50) means bad at the 90th percentile and good at the median), the plain 10th/90th first. None lets
# more than a quarter of the rows score 0, so a model of them keeps its red band apart from the rest.
ANCHOR_GRID = ((LOW_PERCENTILE, HIGH_PERCENTILE), (10, 50), (10, 75), (25, 90))
C_GRID = (0.01, 0.1, 1.0, 10.0)
FOLDS = 5
DEFAULT_HORIZON = 60
ALARM_TARGET = 0.20  # at most this share of scored customer-days red or yellow (docs/health.md#fitting)
RED_TARGET = 0.05  # and at most this share red
FEATURE_CANDIDATES = 12  # per-feature usage factors the fit considers (docs/health.md#usage-of-one-feature)
RECENT_DATES = 3  # the bands are fitted on the scores of the latest as-of dates of the range


class FitError(ValueError):
    """The history cannot support a fit (too few churners, no usable factor)."""


@dataclass(frozen=True)
class FactorFit:
    key: str
    coverage: float  # share of the training rows where the factor is present
    bad: float | None  # the fitted anchors (None when dropped)
    good: float | None
    mean_score: float | None  # imputed for a missing value
    coefficient: float | None  # churn log-odds per standard deviation of the factor score
    weight: int  # the fitted health weight (0 when dropped or clipped)
    dropped: str = ""  # why the factor gets no weight: "coverage", "no spread", "raises risk"


@dataclass(frozen=True)
class ModelSummary:
    """One model's backtest over the fit's dates at the fit's horizon."""

    version: int | None
    auc: float | None
    early_warning_share: float | None
    alarm_rate: float | None


@dataclass(frozen=True)
class FitResult:
    start: dt.date
    end: dt.date
    horizon: int
    seed: int
    rows: int
    customers: int
    churned_rows: int
    churned_customers: int
    c: float  # the regularisation strength chosen (inverse)
    cv_auc: float | None  # grouped-CV AUC of the plain regression (mean over the folds): the yardstick
    cv_auc_pooled: float | None  # the same, over the pooled out-of-fold predictions
    factors: list[FactorFit]
    config: ModelConfig = field(repr=False)  # the proposal (unsaved)
    current: ModelSummary
    proposed: ModelSummary
    notes: list[str]

    def factors_for_create(self) -> list[dict[str, Any]]:
        """The proposal as `health_model_create(factors=...)` wants it."""
        return [
            {"key": f.key, "weight": f.weight, "bad": f.bad, "good": f.good, "enabled": f.enabled}
            for f in self.config.factors
        ]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["config"]
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        data["model"] = {
            "factors": self.factors_for_create(),
            "green": self.config.green,
            "yellow": self.config.yellow,
            "margin": self.config.margin,
        }
        return data


def _summary(report: BacktestReport) -> ModelSummary:
    (h,) = report.horizons
    ew = report.early_warning
    return ModelSummary(report.model_version, h.auc, ew.share, ew.alarm_rate)


def _current() -> HealthModel:
    model = HealthModel.objects.prefetch_related("factors").current()
    if model is None:
        raise FitError("No health model: there is nothing to fit against.")
    return model


def fit_health_model(
    *,
    start: dt.date,
    end: dt.date,
    seed: int = 0,
    horizon: int = DEFAULT_HORIZON,
    progress: Callable[[int, int], None] | None = None,
) -> FitResult:
    """Fit weights and anchors on the as-of dates of [start, end] (see the module docstring). Writes
    nothing. Raises FitError with fewer than MIN_CHURNED_CUSTOMERS churned customers in the range."""
    if end < start:
        raise ValueError("end must not be before start.")
    current = ModelConfig.of(_current())
    # The candidates: the current model's factors, then every other registered factor (as the editor lists
    # them), oriented by their default anchors. All on, so that each row carries every raw value.
    have = {f.key for f in current.factors}
    candidates = list(current.factors) + [
        FactorConfig(key, 0.0, factor.default_bad, factor.default_good, False)
        for key, factor in load().items()
        if key not in have
    ]
    have |= {f.key for f in candidates}
    candidates += [
        FactorConfig(key, 0.0, 0.0, 1.0, False) for key in feature_candidates(end) if key not in have
    ]
    everything = ModelConfig(
        factors=tuple(FactorConfig(f.key, 1.0, f.bad, f.good, True) for f in candidates),
        green=current.green,
        yellow=current.yellow,
        margin=current.margin,
    )
    data = collect(everything, start=start, end=end, progress=progress)
    labels = data.churn_in <= horizon
    churned_customers = int(np.unique(data.customer[labels]).size)
    if churned_customers < MIN_CHURNED_CUSTOMERS:
        raise FitError(
            f"{churned_customers} churned customers in the range; "
            f"fitting needs at least {MIN_CHURNED_CUSTOMERS}."
        )
    n = data.size
    notes = [f"A missing factor value is replaced by the factor's mean score over the {n} training rows."]

    # Anchors from the observed percentiles; features are the factor scores with them.
    kept: list[tuple[FactorConfig, float, float, float, float]] = []  # (factor, coverage, bad, good, mean)
    columns = []
    dropped: list[FactorFit] = []
    for f in candidates:
        column = data.raw[:, data.keys.index(f.key)]
        present = ~np.isnan(column)
        coverage = float(present.sum()) / n
        if coverage < MIN_COVERAGE:
            dropped.append(FactorFit(f.key, coverage, None, None, None, None, 0, "coverage"))
            continue
        anchors = fitted_anchors(column, present, labels, more_is_good=f.good > f.bad)
        if anchors is None:
            dropped.append(FactorFit(f.key, coverage, None, None, None, None, 0, "no spread"))
            continue
        bad, good = anchors
        scores = factor_scores(column, bad, good)
        mean = float(scores[present].mean())
        columns.append(np.where(present, scores, mean))
        kept.append((f, coverage, bad, good, mean))
    if kept:
        kept, columns = orient_features(kept, columns, labels, seed)
    if not kept:
        raise FitError("No factor has enough coverage and spread to fit.")
    features = np.column_stack(columns)
    groups = _seeded_groups(data.customer.tolist(), seed)

    c, cv_auc, pooled = _choose_c(features, labels, groups, seed)
    pipeline = _pipeline(c, seed).fit(features, labels)
    coef_std = pipeline[-1].coef_[0]  # per standard deviation of each factor score
    std = pipeline[0].scale_
    per_point = [-(b / s) for b, s in zip(coef_std, std, strict=True)]  # risk down per factor point
    positive = [max(0.0, p) for p in per_point]
    if sum(positive) <= 0:
        raise FitError("No factor lowers the churn risk in this history: nothing to weight.")
    weights = [int(w) for w in round_to_total([100.0 * p / sum(positive) for p in positive], 100.0, places=0)]

    fits = []
    fitted_factors = []
    by_key = {
        f.key: (f, cov, bad, good, mean, b, w)
        for (f, cov, bad, good, mean), b, w in zip(kept, coef_std, weights, strict=True)
    }
    dropped_by_key = {d.key: d for d in dropped}
    for f in candidates:
        if f.key in dropped_by_key:
            fits.append(dropped_by_key[f.key])
            fitted_factors.append(FactorConfig(f.key, 0.0, f.bad, f.good, False))  # keeps the current anchors
            continue
        _, cov, bad, good, mean, b, w = by_key[f.key]
        reason = "" if w > 0 else "raises risk" if b > 0 else "rounds to 0"
        fits.append(FactorFit(f.key, cov, bad, good, round(mean, 2), round(float(b), 4), w, reason))
        fitted_factors.append(FactorConfig(f.key, float(w), bad, good, w > 0))
    for d in dropped:
        notes.append(
            f"{d.key} dropped: " + ("coverage under 5 %" if d.dropped == "coverage" else "no spread")
        )

    proposal = ModelConfig(
        factors=tuple(fitted_factors), green=current.green, yellow=current.yellow, margin=current.margin
    )
    proposal, threshold_note = with_fitted_bands(proposal, data)
    notes.append(threshold_note)
    common = {"horizons": (horizon,), "resamples": 0, "seed": seed}
    current_report = evaluate(current, data, **common)
    proposed_report = evaluate(proposal, data, **common)
    return FitResult(
        start=start,
        end=end,
        horizon=horizon,
        seed=seed,
        rows=n,
        customers=int(np.unique(data.customer).size),
        churned_rows=int(labels.sum()),
        churned_customers=churned_customers,
        c=c,
        cv_auc=cv_auc,
        cv_auc_pooled=pooled,
        factors=fits,
        config=proposal,
        current=_summary(current_report),
        proposed=_summary(proposed_report),
        notes=notes,
    )


def feature_candidates(end: dt.date, limit: int = FEATURE_CANDIDATES) -> list[str]:
    """`feature:<name>` for the features used by the most customers in the 30 days up to `end`."""
    names = (
        UsageDaily.objects.filter(day__gt=end - dt.timedelta(days=30), day__lte=end)
        .values("feature")
        .annotate(customers=Count("customer_id", distinct=True))
        .order_by("-customers", "feature")
        .values_list("feature", flat=True)[:limit]
    )
    return [PREFIX + name for name in names]


def factor_scores(column: np.ndarray, bad: float, good: float) -> np.ndarray:
    """The 0-100 score of each raw value with these anchors (NaN where missing), as the engine scores it."""
    with np.errstate(invalid="ignore"):
        return 100.0 * np.minimum(1.0, np.maximum(0.0, (column - bad) / (good - bad)))


def fitted_anchors(
    column: np.ndarray, present: np.ndarray, labels: np.ndarray, *, more_is_good: bool
) -> tuple[float, float] | None:
    """(bad, good): the pair of observed percentiles of ANCHOR_GRID whose 0-100 score best explains churn
    on its own (the lowest log-loss of a one-factor logistic regression on the present rows), so a factor
    whose effect is concentrated at one end (the first months of tenure, a heavy-tailed usage count) gets
    anchors that saturate where the effect stops. Ties keep the earlier pair (10th/90th first). None: no
    pair has any spread."""
    values = column[present]
    y = labels[present]
    best: tuple[float, tuple[float, float]] | None = None
    for bad_q, good_q in ANCHOR_GRID:
        if not more_is_good:  # lower is better: the bad side is the top of the values
            bad_q, good_q = 100 - bad_q, 100 - good_q
        bad, good = (round(float(v), 4) for v in np.percentile(values, [bad_q, good_q]))
        if bad == good:
            continue
        x = factor_scores(values, bad, good).reshape(-1, 1)
        if y.all() or not y.any() or np.ptp(x) == 0:
            loss = 0.0
        else:
            model = LogisticRegression(max_iter=200).fit(x, y)
            loss = float(log_loss(y, model.predict_proba(x)[:, 1]))
        if best is None or loss < best[0] - 1e-9:
            best = (loss, (bad, good))
    return best[1] if best else None


def orient_features(
    kept: list[tuple[FactorConfig, float, float, float, float]],
    columns: list[np.ndarray],
    labels: np.ndarray,
    seed: int,
) -> tuple[list[tuple[FactorConfig, float, float, float, float]], list[np.ndarray]]:
    """Per-feature factors have no direction of their own: where, next to all the other factors, more of a
    feature goes with MORE churn (an unconstrained regression's coefficient), turn its anchors round, so
    that the non-negative weights can use it. The other factors keep their designed direction."""
    if not any(is_feature_key(f.key) for f, *_ in kept) or labels.all() or not labels.any():
        return kept, columns
    model = _pipeline(1.0, seed).fit(np.column_stack(columns), labels)
    coef = model[-1].coef_[0]
    out_kept, out_columns = [], []
    for (f, cov, bad, good, mean), column, b in zip(kept, columns, coef, strict=True):
        if is_feature_key(f.key) and b > 0:  # a higher score (more of the feature) raises the churn risk
            f = replace(f, bad=f.good, good=f.bad)
            bad, good, mean, column = good, bad, 100.0 - mean, 100.0 - column
        out_kept.append((f, cov, bad, good, mean))
        out_columns.append(column)
    return out_kept, out_columns


def _pipeline(c: float, seed: int):
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000, random_state=seed))


def _seeded_groups(customer_ids: list[int], seed: int) -> np.ndarray:
    """Customer ids relabelled by a seeded permutation: GroupKFold's assignment of groups to folds then
    depends on the seed (and on nothing else), with each customer's rows kept in one fold."""
    distinct = sorted(set(customer_ids))
    labels = np.random.default_rng(seed).permutation(len(distinct))
    relabel = dict(zip(distinct, labels.tolist(), strict=True))
    return np.array([relabel[c] for c in customer_ids])


def _choose_c(
    features: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int
) -> tuple[float, float, float | None]:
    """The C of C_GRID with the best mean grouped-CV ROC AUC (ties: the smaller C, more regularised); that
    mean, and the AUC of the pooled out-of-fold predictions at that C."""
    folds = GroupKFold(n_splits=min(FOLDS, len(set(groups.tolist()))))
    best = (C_GRID[0], -1.0)
    for c in C_GRID:
        mean = float(
            cross_val_score(
                _pipeline(c, seed), features, labels, groups=groups, cv=folds, scoring="roc_auc"
            ).mean()
        )
        if mean > best[1] + 1e-12:
            best = (c, mean)
    c, mean = best
    oof = cross_val_predict(
        _pipeline(c, seed), features, labels, groups=groups, cv=folds, method="predict_proba"
    )
    pooled = auc(oof[:, 1].tolist(), labels.tolist())
    return c, round(mean, 4), round(pooled, 4) if pooled is not None else None


def with_fitted_bands(proposal: ModelConfig, data: Collected) -> tuple[ModelConfig, str]:
    """The proposal with band thresholds fitted to its scores on the training rows of the latest
    RECENT_DATES as-of dates (the population as it is now): green at the highest whole score below which
    at most ALARM_TARGET of those scored rows fall (red or yellow: what asks a CSM for
    attention), yellow likewise at RED_TARGET; the leave margin is kept. Thresholds are whole points in
    [1, 99] with yellow below green."""
    recent = (
        data.day >= len(data.as_of_dates) - RECENT_DATES
    )  # the latest population: what tomorrow looks like
    scores = score_rows(proposal, data).score[recent]
    scores = np.sort(scores[~np.isnan(scores)])
    if scores.size == 0:
        return proposal, "No scored row: the band thresholds are the current model's."
    green = _threshold(scores, ALARM_TARGET)
    yellow = min(_threshold(scores, RED_TARGET), green - 1)
    fitted = replace(proposal, green=float(green), yellow=float(max(1, yellow)))
    below_green = float(np.searchsorted(scores, fitted.green, side="left")) / scores.size
    below_yellow = float(np.searchsorted(scores, fitted.yellow, side="left")) / scores.size
    return fitted, (
        f"Bands fitted to the training rows: green from {fitted.green:g} ({below_green:.0%} of scored rows "
        f"below it: red or yellow, the target is at most {ALARM_TARGET:.0%}), yellow from {fitted.yellow:g} "
        f"({below_yellow:.0%} red, target at most {RED_TARGET:.0%})."
    )


def _threshold(sorted_scores: np.ndarray, share: float) -> int:
    """The highest whole score t in [2, 99] with at most `share` of the scores strictly below t."""
    best = 2
    for t in range(2, 100):
        if np.searchsorted(sorted_scores, t, side="left") / sorted_scores.size <= share:
            best = t
        else:
            break
    return best
