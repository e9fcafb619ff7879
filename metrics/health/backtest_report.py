"""A stored backtest or fit report (the JSON of a HealthBacktestJob) laid out for the pages
(docs/health.md#backtest-page-and-job): tables by horizon, the calibration chart's data, factor labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .factors import load

BAND_LABELS = {"red": "Red", "yellow": "Yellow", "green": "Green", "none": "Not enough data"}


def factor_label(key: str) -> str:
    factor = load().get(key)
    return factor.label if factor else key


@dataclass(frozen=True)
class ReportView:
    report: dict[str, Any]
    horizons: list[dict[str, Any]]  # the report's, in order
    band_rows: list[dict[str, Any]]  # per band: its label and, per horizon, {rows, churned, churn_rate}
    factor_rows: list[dict[str, Any]]  # per factor: label, coverage, per horizon its AUC
    calibration_rows: list[dict[str, Any]]  # per decile: score range and, per horizon, the churn rate
    chart: dict[str, Any]  # the calibration chart's data (metrics/static/metrics/backtest.js)


def report_view(report: dict[str, Any]) -> ReportView:
    """The report's figures, arranged as the backtest page shows them."""
    horizons = report["horizons"]
    band_rows = [
        {"band": band, "label": label, "cells": [h["bands"][band] for h in horizons]}
        for band, label in BAND_LABELS.items()
    ]
    factor_rows = []
    for k, first in enumerate(horizons[0]["factors"] if horizons else []):
        factor_rows.append(
            {
                "key": first["factor"],
                "label": factor_label(first["factor"]),
                "coverage": first["coverage"],
                "rows": first["rows"],
                "aucs": [h["factors"][k]["auc"] for h in horizons],
            }
        )
    # The deciles are cut on the scored rows, the same for every horizon: only the churn differs.
    deciles = horizons[0]["calibration"] if horizons else []
    calibration_rows = [
        {
            "decile": b["decile"],
            "count": b["count"],
            "min_score": b["min_score"],
            "max_score": b["max_score"],
            "mean_score": b["mean_score"],
            "rates": [h["calibration"][k]["churn_rate"] for h in horizons],
        }
        for k, b in enumerate(deciles)
    ]
    chart = {
        "labels": [f"{b['min_score']:g}\u2013{b['max_score']:g}" for b in deciles],
        "series": [
            {
                "label": f"{h['horizon']} days",
                "data": [round(100 * b["churn_rate"], 1) for b in h["calibration"]],
            }
            for h in horizons
        ],
    }
    return ReportView(report, horizons, band_rows, factor_rows, calibration_rows, chart)


@dataclass(frozen=True)
class FitView:
    fit: dict[str, Any]
    factors: list[dict[str, Any]]  # per factor: label, current and proposed weight and anchors, why dropped


def fit_view(fit: dict[str, Any], *, current: Any) -> FitView:
    """A fit's proposal beside `current` (the version it was fitted against), factor by factor."""
    now = {f.key: f for f in current.factors.all()}
    proposed = {f["key"]: f for f in fit["model"]["factors"]}
    rows = []
    for f in fit["factors"]:
        have, new = now.get(f["key"]), proposed.get(f["key"], {})
        rows.append(
            {
                **f,
                "label": factor_label(f["key"]),
                "current_weight": have.weight if have and have.enabled else 0,
                "current_bad": have.bad if have else None,
                "current_good": have.good if have else None,
                "proposed_weight": new.get("weight", 0) if new.get("enabled") else 0,
                "proposed_bad": new.get("bad"),
                "proposed_good": new.get("good"),
            }
        )
    return FitView(fit, rows)
