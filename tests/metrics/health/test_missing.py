"""Missing is not perfect (docs/health.md#missing-is-not-perfect): support load without a ticket feed, usage
trend before two full windows of history."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.health.factors import get_factor
from metrics.health.services import health_recompute
from metrics.models import HealthSnapshot
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory
from tests.requirements import require_postgres

from .conftest import DAY, at, days_ago, usage, v1_model

pytestmark = pytest.mark.django_db


def values(key: str, customers, day: dt.date = DAY) -> dict[int, float | None]:
    readings = get_factor(key).readings(customer_ids=[c.pk for c in customers], day=day)
    return {c.pk: (readings[c.pk].value if c.pk in readings else None) for c in customers}


def test_support_load_is_missing_for_everyone_without_a_ticket_feed():
    a, b = CustomerFactory(), CustomerFactory()
    assert values("support_load", [a, b]) == {a.pk: None, b.pk: None}
    # A ticket older than 180 days is no feed either.
    TicketFactory(customer=a, opened_at=at(days_ago(180)), resolved_at=at(days_ago(179)))
    assert values("support_load", [a, b]) == {a.pk: None, b.pk: None}
    # Nor is a ticket opened after the day (no look-ahead).
    TicketFactory(customer=a, opened_at=at(DAY + dt.timedelta(days=1)))
    assert values("support_load", [a, b]) == {a.pk: None, b.pk: None}


def test_with_a_ticket_feed_no_open_ticket_is_still_a_load_of_zero():
    a, b = CustomerFactory(), CustomerFactory()
    TicketFactory(customer=a, opened_at=at(days_ago(179)), resolved_at=at(days_ago(170)))  # any customer's
    assert values("support_load", [a, b]) == {a.pk: 0.0, b.pk: 0.0}
    TicketFactory(customer=b, priority="urgent", opened_at=at(days_ago(2)))
    assert values("support_load", [a, b]) == {a.pk: 0.0, b.pk: 3.0}


def test_without_a_ticket_feed_support_load_is_left_out_and_the_weights_rescaled():
    customer = CustomerFactory(licenses=10)  # contract start 2024: a full history
    usage(customer, users=8, day=DAY)  # utilization 0.8: 100 points
    usage(customer, users=8, day=days_ago(35))  # usage trend 1.0: 100 points
    PulseFactory(customer=customer, score=1, created_at=at(DAY))  # pulse 1: 0 points
    TouchpointFactory(customer=customer, occurred_at=at(DAY))  # engagement: 100 points
    v1_model()  # the weights the arithmetic below uses
    health_recompute(day=DAY, run_hooks=False)
    snap = HealthSnapshot.objects.get(customer=customer, date=DAY)
    by = {c["factor"]: c for c in snap.components}
    assert by["support_load"]["raw_value"] is None
    assert not by["support_load"]["weight"]
    # (20 x 100 + 10 x 100 + 15 x 0 + 10 x 100) / 55, not the old full marks for support load:
    # (… + 15 x 100) / 70 = 78.6.
    assert float(snap.score) == pytest.approx(72.7)


def test_a_customer_40_days_into_its_contract_has_no_usage_trend():
    young = CustomerFactory(contract_start=days_ago(40))
    old = CustomerFactory(contract_start=days_ago(60))
    for c in (young, old):
        usage(c, users=2, day=days_ago(35))  # in the 30 days before: something to compare against
        usage(c, users=4, day=days_ago(1))
    assert values("usage_trend", [young, old]) == {young.pk: None, old.pk: pytest.approx(2.0)}


def test_without_a_contract_start_the_first_usage_day_starts_the_history():
    young, old = CustomerFactory(contract_start=None), CustomerFactory(contract_start=None)
    for c in (young, old):
        usage(c, users=2, day=days_ago(35))
        usage(c, users=4, day=days_ago(1))
    usage(old, users=1, day=days_ago(60))  # first usage day exactly 60 days before: two full windows
    usage(young, users=1, day=DAY + dt.timedelta(days=1))  # after the day: not read
    assert values("usage_trend", [young, old]) == {young.pk: None, old.pk: pytest.approx(2.0)}


def test_a_contract_starting_after_the_day_has_no_usage_trend_then():
    later = CustomerFactory(contract_start=DAY + dt.timedelta(days=10))
    usage(later, users=2, day=days_ago(35))
    usage(later, users=4, day=days_ago(1))
    assert values("usage_trend", [later]) == {later.pk: None}


USAGE_FACTORS = (
    "license_utilization",
    "relative_usage",
    "usage_trend",
    "feature_breadth",
    "key_feature_share",
    "feature:reports",
)


def test_every_usage_factor_is_missing_for_everyone_without_a_usage_feed():
    """No usage for any customer in the 30 days up to the day: the install had no usage feed then (not yet
    connected, or broken), so nobody's usage is 0 — the factors do not apply, as support load without
    tickets. A feed that starts later, or usage before the window, changes nothing for the day."""
    from metrics.models import KeyFeature

    KeyFeature.objects.create(name="reports")
    a, b = CustomerFactory(licenses=10), CustomerFactory(licenses=5)
    usage(a, users=3, day=days_ago(30))  # the day before the window: no feed on DAY
    usage(b, users=2, day=DAY + dt.timedelta(days=1))  # after the day (no look-ahead)
    for key in USAGE_FACTORS:
        readings = get_factor(key).readings(customer_ids=[a.pk, b.pk], day=DAY)
        assert readings[a.pk].excused, key
        assert readings[b.pk].excused, key
        assert readings[a.pk].detail == {"excused": "no usage received for any customer in the last 30 days"}
    # The day after, a's old usage is still out of the window but b's is in: a feed, so a's 0 is real.
    day = DAY + dt.timedelta(days=1)
    readings = {key: get_factor(key).readings(customer_ids=[a.pk, b.pk], day=day) for key in USAGE_FACTORS}
    assert readings["license_utilization"][a.pk].value == 0.0
    assert readings["license_utilization"][b.pk].value == pytest.approx(0.4)
    assert readings["feature_breadth"][a.pk].value == 0.0
    assert readings["feature:reports"][a.pk].value == 0.0
    assert readings["relative_usage"][a.pk].value < readings["relative_usage"][b.pk].value
    assert not any(r.excused for r in readings["license_utilization"].values())


def test_one_customer_without_usage_among_others_with_usage_scores_zero_not_missing():
    a, b = CustomerFactory(licenses=10), CustomerFactory(licenses=10)
    usage(b, users=5, day=days_ago(29))  # the window's first day: a feed on DAY
    utilization = values("license_utilization", [a, b])
    assert utilization == {a.pk: 0.0, b.pk: 0.5}


def test_without_a_usage_feed_the_score_comes_from_the_other_factors():
    customer = CustomerFactory(licenses=10)
    PulseFactory(customer=customer, score=5, created_at=at(DAY))  # pulse 5: 100 points
    TouchpointFactory(customer=customer, occurred_at=at(DAY))  # engagement: 100 points
    v1_model()
    health_recompute(day=DAY, run_hooks=False)
    snap = HealthSnapshot.objects.get(customer=customer, date=DAY)
    by = {c["factor"]: c for c in snap.components}
    assert by["license_utilization"]["raw_value"] is None
    assert not by["license_utilization"]["weight"]
    # pulse and engagement only (15 + 10 of v1's weights), both at full marks; without the rule,
    # utilization 0 (20 points of weight) would have pulled it to 25 x 100 / 45 = 55.6.
    assert float(snap.score) == 100.0


@pytest.mark.services  # PostgreSQL only: CI runs it in the PostgreSQL + Redis pass
def test_postgresql_answers_the_feed_check_from_a_brin_index_on_the_rollups_day():
    require_postgres()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'metrics_usagedaily' AND indexname = %s",
            ["metrics_usagedaily_day_brin"],
        )
        (definition,) = cursor.fetchone()
    assert "USING brin (day)" in definition


@pytest.mark.services  # PostgreSQL only: CI runs it in the PostgreSQL + Redis pass
def test_the_install_wide_usage_check_reads_the_window_and_restores_the_planner_setting():
    """PostgreSQL: the fallback EXISTS turns sequential scans off for itself only, inside or outside a
    transaction (docs/health.md#missing-is-not-perfect)."""
    require_postgres()
    from django.db import connection, transaction

    from metrics.health.factors.usage_window import _any_usage

    def seqscan() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_seqscan')")
            return cursor.fetchone()[0]

    customer = CustomerFactory()
    assert _any_usage(DAY) is False
    usage(customer, users=1, day=days_ago(29))
    assert _any_usage(DAY) is True  # on the window's first day
    assert _any_usage(days_ago(30)) is False  # after the day: no look-ahead
    assert _any_usage(DAY + dt.timedelta(days=1)) is False  # before the window
    assert seqscan() == "on"
    with transaction.atomic():
        assert _any_usage(DAY) is True
        assert seqscan() == "on"
