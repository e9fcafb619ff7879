"""Fitting (docs/health.md#fitting) on a seeded synthetic population whose churn is driven by a low CSM pulse
and rare touchpoints, with open tickets as noise: determinism, the weights, the yardstick, too few churners,
and the command (only --activate writes)."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from accounts.models import Pulse, Touchpoint
from metrics.health.backtest import collect, run_backtest, score_rows
from metrics.health.engine import ModelConfig
from metrics.health.fitting import FitError, fit_health_model
from metrics.health.services import health_model_current
from metrics.models import HealthModel, MrrEntry, Ticket
from tests.factories import CustomerFactory

from .conftest import at

D = dt.date
START, END = D(2026, 1, 1), D(2026, 6, 1)  # six month starts
AS_OF = [D(2026, m, 1) for m in range(1, 7)]


def build(n: int, *, seed: int = 1, base_risk: float = -0.9) -> int:
    """`n` customers paying from 2025-06-01. Each has a pulse level (1-5) and a touchpoint interval (7-90
    days); churn risk rises as either worsens, plus noise. A churner's MRR goes to 0 on a day between
    2026-01-10 and 2026-07-25. Pulses (the level, +-1 now and then) before each month start; touchpoints
    every `interval` days; open tickets (0-3, unrelated to churn). Returns the number of churners."""
    rng = random.Random(seed)
    mrr, pulses, touches, tickets = [], [], [], []
    churners = 0
    for i in range(n):
        customer = CustomerFactory()
        level = rng.randint(1, 5)
        interval = rng.randint(7, 90)
        logit = base_risk - 0.9 * (level - 3) + 0.045 * (interval - 48) + rng.gauss(0, 0.8)
        churn = (
            D(2026, 1, 10) + dt.timedelta(days=rng.randint(0, 196))
            if rng.random() < 1 / (1 + math.exp(-logit))
            else None
        )
        churners += churn is not None
        mrr.append(MrrEntry(customer=customer, effective_date=D(2025, 6, 1), mrr=100))
        if churn:
            mrr.append(MrrEntry(customer=customer, effective_date=churn, mrr=0))
        for day in AS_OF:
            score = min(5, max(1, level + (rng.choice((-1, 1)) if rng.random() < 0.3 else 0)))
            pulses.append(
                Pulse(
                    customer=customer, score=score, created_at=at(day - dt.timedelta(days=rng.randint(1, 25)))
                )
            )
        touch = D(2025, 9, 1) + dt.timedelta(days=rng.randint(0, interval))
        while touch < D(2026, 7, 1):
            touches.append(Touchpoint(customer=customer, kind="call", summary="x", occurred_at=at(touch)))
            touch += dt.timedelta(days=interval)
        for k in range(rng.choice((0, 0, 1, 2, 3))):
            tickets.append(Ticket(external_id=f"T-{i}-{k}", customer=customer, opened_at=at(D(2025, 12, 1))))
    MrrEntry.objects.bulk_create(mrr)
    Pulse.objects.bulk_create(pulses)
    Touchpoint.objects.bulk_create(touches)
    Ticket.objects.bulk_create(tickets)
    return churners


@pytest.fixture
def population(db):
    health_model_current()  # v1, the default model
    churners = build(150)
    assert churners >= 30
    return churners


def test_fit_is_deterministic_weights_sum_to_100_and_follow_the_drivers(population):
    versions = HealthModel.objects.count()
    first = fit_health_model(start=START, end=END, seed=0)
    again = fit_health_model(start=START, end=END, seed=0)
    assert HealthModel.objects.count() == versions  # no writes
    assert first.as_dict() == again.as_dict()
    assert first.churned_customers >= 30

    weights = {f.key: f.weight for f in first.factors}
    assert all(w >= 0 for w in weights.values())
    assert sum(weights.values()) == 100
    assert sum(f.weight for f in first.config.factors) == 100
    top_two = sorted(weights, key=weights.__getitem__, reverse=True)[:2]
    assert set(top_two) == {"pulse", "engagement"}
    assert weights["pulse"] + weights["engagement"] >= 80

    fits = {f.key: f for f in first.factors}
    # no data at all: NPS, CSAT, and every usage factor (no usage feed: missing, not 0 for everyone)
    for key in ("usage_trend", "feature_breadth", "license_utilization", "nps", "csat"):
        assert fits[key].dropped == "coverage"
    # anchors oriented as in the current model: engagement and support load are better when lower
    assert fits["engagement"].bad > fits["engagement"].good
    assert fits["pulse"].bad < fits["pulse"].good
    assert fits["support_load"].bad > fits["support_load"].good

    # the yardstick: the fitted score ranks nearly as well as the plain regression
    assert first.cv_auc is not None
    assert first.proposed.auc is not None
    assert first.proposed.auc >= first.cv_auc - 0.03
    assert first.current.version == HealthModel.objects.current().version

    # the bands are fitted to the training rows of the latest 3 as-of dates: at most 20 % of them red or
    # yellow, at most 5 % red, and each threshold the highest whole score that keeps to it
    rows = collect(first.config, start=START, end=END)
    scores = score_rows(first.config, rows).score[rows.day >= len(rows.as_of_dates) - 3]
    scores = scores[~np.isnan(scores)]
    green, yellow = first.config.green, first.config.yellow
    assert 1 <= yellow < green <= 99
    assert (scores < green).mean() <= 0.20 < (scores < green + 1).mean() or green == 99
    assert (scores < yellow).mean() <= 0.05
    assert first.proposed.alarm_rate <= 0.25  # all the training dates: near the target
    assert any("Bands fitted" in note for note in first.notes)


def test_a_config_backtests_like_the_saved_version(population):
    model = HealthModel.objects.prefetch_related("factors").current()
    saved = run_backtest(start=START, end=START, horizons=(60,), resamples=0)
    unsaved = run_backtest(start=START, end=START, horizons=(60,), resamples=0, config=ModelConfig.of(model))
    assert saved.as_dict() == unsaved.as_dict()
    assert all(set(r.raw) >= {"pulse", "engagement", "support_load"} for r in saved.rows)


def test_too_few_churners_is_an_error_and_writes_nothing(db):
    health_model_current()
    churners = build(40, seed=2, base_risk=-3.0)
    assert churners < 30
    versions = HealthModel.objects.count()
    with pytest.raises(
        FitError, match=f"{churners} churned customers in the range; fitting needs at least 30"
    ):
        fit_health_model(start=START, end=END)
    with pytest.raises(CommandError, match="fitting needs at least 30"):
        call_command(
            "fit_health_model",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-01",
            "--activate",
            stdout=io.StringIO(),
        )
    assert HealthModel.objects.count() == versions


def test_command_writes_only_with_activate(population):
    args = ("fit_health_model", "--from", "2026-01-01", "--to", "2026-06-01")
    versions = HealthModel.objects.count()
    out = io.StringIO()
    call_command(*args, stdout=out)
    text = out.getvalue()
    assert "plain logistic regression" in text
    assert "Nothing saved" in text
    assert HealthModel.objects.count() == versions

    out = io.StringIO()
    call_command(*args, "--activate", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert HealthModel.objects.count() == versions + 1
    saved = HealthModel.objects.prefetch_related("factors").current()
    assert data["saved_version"] == saved.version
    assert saved.note == "Fitted on 2026-01-01\u20132026-06-01"
    assert {f.key: float(f.weight) for f in saved.factors.all()} == {
        f["key"]: float(f["weight"]) for f in data["model"]["factors"]
    }
    assert sum(f.weight for f in saved.factors.all()) == 100
