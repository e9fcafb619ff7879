"""Usage of one feature (docs/health.md#usage-of-one-feature): the `feature:<name>` factors, how the registry
answers for them, how the fitting orients them by the install's history, and the editor keeping them."""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np
import pytest

from metrics.health.factors import get_factor, load
from metrics.health.fitting import fit_health_model, fitted_anchors
from metrics.health.forms import HealthModelForm
from metrics.health.services import health_model_current
from metrics.models import MrrEntry, UsageDaily
from metrics.services import mrr_ledger_relink
from tests.factories import CustomerFactory

from .conftest import DAY, days_ago, usage

pytestmark = pytest.mark.django_db
D = dt.date


def test_the_registry_answers_for_feature_keys_without_listing_them():
    registry = load()
    assert "feature:export" in registry
    assert "feature:" not in registry
    assert "nonsense" not in registry
    assert registry.get("nonsense") is None
    assert get_factor("feature:export") is get_factor("feature:export")
    assert get_factor("feature:export").label == "Usage of “export”"
    assert not any(key.startswith("feature:") for key in registry)


def test_events_of_the_feature_in_30_days_per_license():
    seats, no_seats, idle = (
        CustomerFactory(licenses=4),
        CustomerFactory(licenses=0),
        CustomerFactory(licenses=4),
    )
    usage(seats, users=2, day=DAY, features=("export", "reports"), events=3)  # 6 export events
    usage(seats, users=1, day=days_ago(30), features=("export",), events=50)  # outside the window
    usage(no_seats, users=1, day=days_ago(29), features=("export",), events=5)
    usage(idle, users=1, day=DAY, features=("reports",), events=5)
    factor = get_factor("feature:export")
    got = factor.readings(customer_ids=[seats.pk, no_seats.pk, idle.pk], day=DAY)
    assert got[seats.pk].value == pytest.approx(6 / 4)
    assert got[no_seats.pk].value == 5.0
    assert got[idle.pk].value == 0.0
    assert factor.format_raw(1.5, got[seats.pk].detail) == "6 “export” events in 30 days (1.5 per license)"
    before = {"raw_value": 1.5, "detail": {"events": 6}}
    after = {"raw_value": 10.0, "detail": {"events": 40}}
    assert factor.explain(before, after, -5.0) == "“export” events in 30 days rose from 6 to 40"


def build(n: int, seed: int = 4) -> int:
    """Customers paying from 2025-06-01 whose churn follows how much they use "reports" (less: more churn)
    and "cancel_page" (more: more churn); "sso" is noise. Monthly usage rows before each month start."""
    rng = random.Random(seed)
    mrr, rows = [], []
    churners = 0
    for _ in range(n):
        customer = CustomerFactory(licenses=1, contract_start=D(2025, 6, 1))
        reports, cancel = rng.randint(0, 20), rng.randint(0, 6)
        logit = -0.8 - 0.18 * (reports - 10) + 0.6 * (cancel - 3) + rng.gauss(0, 0.5)
        churn = (
            D(2026, 1, 10) + dt.timedelta(days=rng.randint(0, 150))
            if rng.random() < 1 / (1 + math.exp(-logit))
            else None
        )
        churners += churn is not None
        mrr.append(MrrEntry(customer=customer, effective_date=D(2025, 6, 1), mrr=100))
        if churn:
            mrr.append(MrrEntry(customer=customer, effective_date=churn, mrr=0))
        for month in range(1, 7):
            day = D(2026, month, 1) - dt.timedelta(days=3)
            for feature, events in (
                ("reports", reports),
                ("cancel_page", cancel),
                ("sso", rng.randint(1, 9)),
            ):
                if events:
                    rows.append(
                        UsageDaily(customer=customer, user_id="u", feature=feature, day=day, events=events)
                    )
    MrrEntry.objects.bulk_create(mrr)
    UsageDaily.objects.bulk_create(rows)
    mrr_ledger_relink()
    return churners


def test_the_fit_orients_each_feature_by_the_history_and_the_editor_keeps_it():
    health_model_current()
    assert build(200) >= 30
    fit = fit_health_model(start=D(2026, 1, 1), end=D(2026, 6, 1), seed=0)
    fits = {f.key: f for f in fit.factors}
    reports, cancel = fits["feature:reports"], fits["feature:cancel_page"]
    assert reports.weight > 0
    assert reports.bad < reports.good  # more reports: healthier
    assert cancel.weight > 0
    assert cancel.bad > cancel.good  # more visits to the cancellation page: at risk
    assert reports.weight + cancel.weight >= 50

    # The editor opened on the proposal lists the feature factors and saves them as proposed.
    model = fit.as_dict()["model"]
    form = HealthModelForm(base=health_model_current())
    form.propose(model, note="Fitted")
    assert "feature:cancel_page" in form.factor_keys
    data = {"green": model["green"], "yellow": model["yellow"], "margin": model["margin"], "note": "Fitted"}
    for f in model["factors"]:
        data[f"{f['key']}-weight"] = f["weight"]
        data[f"{f['key']}-bad"] = f["bad"]
        data[f"{f['key']}-good"] = f["good"]
        if f["enabled"]:
            data[f"{f['key']}-enabled"] = "on"
    bound = HealthModelForm(data, base=health_model_current())
    assert bound.is_valid(), bound.errors
    saved = {f["key"]: f for f in bound.factors()}
    assert saved["feature:cancel_page"]["enabled"]
    assert saved["feature:cancel_page"]["bad"] == cancel.bad


def test_anchors_saturate_where_the_effect_stops():
    # Tenure-like: churn only in the first 60 days of 0-720; anchors 10th/50th fit it better than 10th/90th.
    rng = np.random.default_rng(0)
    days = rng.uniform(0, 720, 4000)
    churned = rng.random(4000) < np.where(days < 60, 0.4, 0.05)
    bad, good = fitted_anchors(days, np.ones(4000, bool), churned, more_is_good=True)
    assert bad == pytest.approx(np.percentile(days, 10), abs=1e-3)
    assert good == pytest.approx(np.percentile(days, 50), abs=1e-3)
    # An effect linear in the log-odds keeps the plain 10th/90th; lower-is-better counts from the top.
    load_ = rng.uniform(0, 10, 4000)
    churned = rng.random(4000) < 1 / (1 + np.exp(3.0 - 0.4 * load_))
    bad, good = fitted_anchors(load_, np.ones(4000, bool), churned, more_is_good=False)
    assert (bad, good) == pytest.approx((np.percentile(load_, 90), np.percentile(load_, 10)), abs=1e-3)
    # No spread in any pair: None.
    assert fitted_anchors(np.zeros(50), np.ones(50, bool), np.arange(50) < 5, more_is_good=True) is None
