"""Missing is not perfect (docs/health.md#missing-is-not-perfect): support load without a ticket feed, usage
trend before two full windows of history."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.health.factors import get_factor
from metrics.health.services import health_recompute
from metrics.models import HealthSnapshot
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory

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
