"""Scoring rules of docs/health.md on hand-computed numbers: anchors, clamping, direction, missing factors,
"not enough data", contributions and hysteresis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metrics.health.engine import (
    FactorConfig,
    ModelConfig,
    band_with_hysteresis,
    factor_score,
    round_to_total,
    score_customer,
)
from metrics.health.factors import Reading


@pytest.mark.parametrize(
    ("raw", "bad", "good", "expected"),
    [
        (0.4, 0.0, 0.8, 50.0),  # utilization halfway
        (0.0, 0.0, 0.8, 0.0),
        (0.95, 0.0, 0.8, 100.0),  # clamped above good
        (-0.2, 0.0, 0.8, 0.0),  # clamped below bad
        (0.75, 0.5, 1.0, 50.0),  # usage trend
        (2.0, 5.0, 0.0, 60.0),  # support load: lower is better
        (7.0, 5.0, 0.0, 0.0),  # beyond bad in the reversed direction
        (0.0, 5.0, 0.0, 100.0),
        (30.0, 60.0, 14.0, 100 * 30 / 46),  # engagement: 30 days since the last touchpoint
        (10.0, 60.0, 14.0, 100.0),
        (0.0, -100.0, 100.0, 50.0),  # NPS 0
        (3.0, 1.0, 5.0, 50.0),  # pulse 3
    ],
)
def test_factor_score_is_linear_between_anchors_and_clamped(raw, bad, good, expected):
    assert factor_score(raw, bad=bad, good=good) == pytest.approx(expected)


MODEL = ModelConfig(
    factors=(
        FactorConfig("license_utilization", 20, 0.0, 0.8),
        FactorConfig("usage_trend", 10, 0.5, 1.0),
        FactorConfig("feature_breadth", 10, 0.0, 0.8),
        FactorConfig("support_load", 15, 5.0, 0.0),
        FactorConfig("nps", 15, -100.0, 100.0),
        FactorConfig("csat", 5, 0.0, 100.0),
        FactorConfig("pulse", 15, 1.0, 5.0),
        FactorConfig("engagement", 10, 60.0, 14.0),
    )
)


def readings(**values: float | None) -> dict[str, Reading | None]:
    return {k: (Reading(v) if v is not None else None) for k, v in values.items()}


def test_full_data_score_is_weighted_mean():
    score, band, components = score_customer(
        MODEL,
        readings(
            license_utilization=0.4,  # 50
            usage_trend=1.2,  # 100
            feature_breadth=0.8,  # 100
            support_load=1,  # 80
            nps=20,  # 60
            csat=90,  # 90
            pulse=4,  # 75
            engagement=37,  # 50
        ),
    )
    expected = (20 * 50 + 10 * 100 + 10 * 100 + 15 * 80 + 15 * 60 + 5 * 90 + 15 * 75 + 10 * 50) / 100
    assert score == Decimal(str(round(expected, 1)))
    assert band == "green"
    by = {c["factor"]: c for c in components}
    assert by["support_load"]["score"] == 80.0
    assert by["license_utilization"]["weight"] == 20.0
    assert by["license_utilization"]["contribution"] == 10.0


def test_missing_factors_are_left_out_and_weights_rescaled():
    # Present: utilization 20 (score 100), support 15 (score 0), pulse 15 (score 50) = 50 of 100: enough.
    score, _band, components = score_customer(
        MODEL, readings(license_utilization=0.8, support_load=5, pulse=3, nps=None)
    )
    assert score == Decimal(str(round((20 * 100 + 15 * 0 + 15 * 50) / 50, 1)))  # 55.0, not 27.5
    by = {c["factor"]: c for c in components}
    assert by["license_utilization"]["weight"] == 40.0
    assert by["support_load"]["weight"] == 30.0
    assert by["pulse"]["weight"] == 30.0
    assert by["nps"] == {
        "factor": "nps",
        "raw_value": None,
        "score": None,
        "weight": 0.0,
        "contribution": 0.0,
        "as_of": None,
        "detail": {},
    }
    assert sum(c["weight"] for c in components) == pytest.approx(100.0)


def test_less_than_half_the_weight_present_is_not_enough_data():
    # 20 + 15 + 10 = 45 of 100 present.
    score, band, components = score_customer(
        MODEL, readings(license_utilization=0.8, support_load=0, engagement=5), previous_band="green"
    )
    assert score is None
    assert band == ""
    assert {c["factor"]: c["raw_value"] for c in components}["support_load"] == 0.0
    assert all(c["contribution"] is None for c in components)


def test_exactly_half_the_weight_is_enough():
    score, _band, _ = score_customer(MODEL, readings(license_utilization=0.8, support_load=0, pulse=5))
    assert score == Decimal("100.0")


def test_a_zero_raw_value_is_data_not_missing():
    score, band, _ = score_customer(MODEL, readings(license_utilization=0.0, support_load=5, pulse=1))
    assert score == Decimal("0.0")
    assert band == "red"


def test_disabled_factor_is_not_part_of_the_model():
    model = ModelConfig(
        factors=(FactorConfig("pulse", 50, 1, 5), FactorConfig("nps", 50, -100, 100, enabled=False))
    )
    score, _band, components = score_customer(model, readings(pulse=5))
    assert score == Decimal("100.0")
    assert [c["factor"] for c in components] == ["pulse"]


@pytest.mark.parametrize(
    "values",
    [
        dict(license_utilization=0.33, usage_trend=0.77, support_load=3, nps=-13, pulse=2, engagement=41),
        dict(license_utilization=0.123, feature_breadth=0.61, nps=77, csat=33.3, pulse=4, engagement=17),
        dict(license_utilization=0.9, support_load=1, pulse=3, usage_trend=0.51, csat=12.5, nps=1),
    ],
)
def test_contributions_sum_exactly_to_the_score(values):
    score, _band, components = score_customer(MODEL, readings(**values))
    total = sum(Decimal(str(c["contribution"])) for c in components)
    assert total == score
    assert sum(Decimal(str(c["weight"])) for c in components) == Decimal(100)


def test_round_to_total_keeps_the_sum():
    assert sum(round_to_total([33.333, 33.333, 33.334], 100.0)) == pytest.approx(100.0)
    assert round_to_total([1.25, 1.25], 2.5) == [1.3, 1.2] or round_to_total([1.25, 1.25], 2.5) == [1.2, 1.3]


def test_hysteresis_case_from_the_issue():
    """72, 68, 71, 66 with green ≥ 70 and margin 3: green until below 67, back to green only at 73."""
    bands = []
    previous = None
    for score in [72, 68, 71, 66, 69, 72, 73, 68]:
        previous = band_with_hysteresis(score, previous=previous, green=70, yellow=40, margin=3)
        bands.append(previous)
    assert bands == ["green", "green", "green", "yellow", "yellow", "yellow", "green", "green"]


@pytest.mark.parametrize(
    ("previous", "score", "expected"),
    [
        ("green", 67, "green"),  # exactly at threshold - margin: not cleared yet
        ("green", 66.9, "yellow"),
        ("green", 30, "red"),  # a fall through both bands
        ("green", 38, "yellow"),  # below yellow, but not by the margin
        ("yellow", 38, "yellow"),
        ("yellow", 36.9, "red"),
        ("red", 42, "red"),
        ("red", 43, "yellow"),
        ("red", 80, "green"),
        ("red", 72, "yellow"),  # green needs 73
        ("yellow", 72.9, "yellow"),
        (None, 69.9, "yellow"),  # no previous band: plain thresholds
        ("", 40, "yellow"),
    ],
)
def test_hysteresis_edges(previous, score, expected):
    assert band_with_hysteresis(score, previous=previous, green=70, yellow=40, margin=3) == expected


def test_hysteresis_uses_the_previous_band_in_score_customer():
    values = readings(license_utilization=0.8 * 0.68, support_load=5 - 5 * 0.68, pulse=1 + 4 * 0.68)
    assert score_customer(MODEL, values, previous_band="green")[:2] == (Decimal("68.0"), "green")
    assert score_customer(MODEL, values, previous_band=None)[:2] == (Decimal("68.0"), "yellow")
