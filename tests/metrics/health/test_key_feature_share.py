"""Key-feature share (docs/health.md#key-feature-share): events in key features ÷ all events, 30 days."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.health.factors import get_factor
from tests.factories import CustomerFactory, KeyFeatureFactory

from .conftest import DAY, days_ago, usage

pytestmark = pytest.mark.django_db
FACTOR = get_factor("key_feature_share")


def test_excused_until_key_features_exist():
    c = CustomerFactory()
    usage(c, users=1, day=DAY, features=("reports",))
    got = FACTOR.readings(customer_ids=[c.pk], day=DAY)
    assert got[c.pk].excused


def test_share_of_the_last_30_days_events_in_key_features():
    for name in ("reports", "alerts"):
        KeyFeatureFactory(name=name)
    focused, elsewhere, idle, old = (CustomerFactory() for _ in range(4))
    usage(focused, users=2, day=DAY, features=("reports", "alerts", "export"), events=3)  # 12 of 18
    usage(elsewhere, users=1, day=days_ago(29), features=("export",), events=9)
    usage(elsewhere, users=1, day=DAY, features=("alerts",), events=1)  # 1 of 10
    usage(old, users=1, day=days_ago(30), features=("reports",), events=5)  # outside the window: missing
    usage(old, users=1, day=DAY + dt.timedelta(days=1), features=("reports",), events=5)  # after the day

    got = FACTOR.readings(customer_ids=[c.pk for c in (focused, elsewhere, idle, old)], day=DAY)

    assert got[focused.pk].value == pytest.approx(12 / 18)
    assert got[elsewhere.pk].value == pytest.approx(1 / 10)
    assert idle.pk not in got
    assert old.pk not in got
    assert FACTOR.format_raw(got[elsewhere.pk].value, got[elsewhere.pk].detail) == (
        "10 % of 10 events in key features"
    )


def test_explains_the_change_in_words():
    before = {"raw_value": 0.5, "detail": {}}
    after = {"raw_value": 0.2, "detail": {}}
    assert FACTOR.explain(before, after, -10.0) == "Share of activity in key features fell from 50 % to 20 %"
