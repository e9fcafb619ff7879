"""Each factor's raw value on hand-computed data (docs/health.md table), many customers in one call."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.health.factors import get_factor
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    KeyFeatureFactory,
    PulseFactory,
    ResponseFactory,
    TicketFactory,
    TouchpointFactory,
)

from .conftest import DAY, at, days_ago, usage

pytestmark = pytest.mark.django_db


def values(key: str, customers, day: dt.date = DAY) -> dict[int, float | None]:
    readings = get_factor(key).readings(customer_ids=[c.pk for c in customers], day=day)
    return {c.pk: (readings[c.pk].value if c.pk in readings else None) for c in customers}


def test_license_utilization_counts_distinct_active_users_in_30_days_over_licenses():
    a, b, no_seats = CustomerFactory(licenses=60), CustomerFactory(licenses=10), CustomerFactory(licenses=0)
    usage(a, users=30, day=days_ago(0), features=("reports", "export"))  # one user, two features: once
    usage(a, users=12, day=days_ago(29))  # same users u0-u11: still 30
    usage(a, users=45, day=days_ago(30), prefix="old")  # outside [D-29, D]
    usage(no_seats, users=3, day=DAY)
    got = values("license_utilization", [a, b, no_seats])
    assert got[a.pk] == pytest.approx(30 / 60)
    assert got[b.pk] == 0  # licenses but nobody active: a real zero
    assert got[no_seats.pk] is None  # no licenses: undefined, missing
    reading = get_factor("license_utilization").readings(customer_ids=[a.pk], day=DAY)[a.pk]
    assert reading.detail == {"active": 30, "licenses": 60}
    assert reading.as_of == DAY


def test_usage_trend_is_last_30_days_over_previous_30_and_missing_without_history():
    growing, new = CustomerFactory(), CustomerFactory()
    usage(growing, users=1, day=days_ago(5), events=150)
    usage(growing, users=1, day=days_ago(30), events=100)  # first day of the previous window
    usage(growing, users=1, day=days_ago(60), events=999)  # before both windows
    usage(new, users=1, day=days_ago(1), events=50)
    got = values("usage_trend", [growing, new])
    assert got[growing.pk] == pytest.approx(1.5)
    assert got[new.pk] is None


def test_feature_breadth_missing_until_key_features_exist():
    c = CustomerFactory()
    usage(c, users=2, day=DAY, features=("reports", "alerts", "other"))
    assert values("feature_breadth", [c]) == {c.pk: None}
    for name in ("reports", "alerts", "export", "api", "sso"):
        KeyFeatureFactory(name=name)
    idle = CustomerFactory()
    got = values("feature_breadth", [c, idle])
    assert got[c.pk] == pytest.approx(2 / 5)
    assert got[idle.pk] == 0


def test_support_load_weights_open_tickets_and_zero_without_any():
    busy, calm = CustomerFactory(), CustomerFactory()
    TicketFactory(customer=busy, priority="urgent", opened_at=at(days_ago(3)))
    TicketFactory(customer=busy, priority="high", opened_at=at(days_ago(3)))
    TicketFactory(customer=busy, priority="low", opened_at=at(days_ago(3)))
    # Resolved after the day ended: still open as of DAY. Resolved during it: closed. Opened later: not yet.
    TicketFactory(
        customer=busy, priority="normal", opened_at=at(days_ago(3)), resolved_at=at(DAY + dt.timedelta(1))
    )
    TicketFactory(customer=busy, priority="urgent", opened_at=at(days_ago(3)), resolved_at=at(DAY, 9))
    TicketFactory(customer=busy, priority="urgent", opened_at=at(DAY + dt.timedelta(days=1)))
    got = values("support_load", [busy, calm])
    assert got[busy.pk] == 3 + 2 + 1 + 1
    assert got[calm.pk] == 0


def test_nps_uses_each_contacts_latest_answer_in_180_days():
    c = CustomerFactory()
    one, two, three = ContactFactory(customer=c), ContactFactory(customer=c), ContactFactory(customer=c)
    ResponseFactory(contact=one, score=10, answered_at=at(days_ago(10)))
    ResponseFactory(contact=two, score=2, answered_at=at(days_ago(200)))  # too old
    ResponseFactory(contact=two, score=9, answered_at=at(days_ago(20)))
    ResponseFactory(contact=three, score=9, answered_at=at(days_ago(30)))
    ResponseFactory(contact=three, score=3, answered_at=at(days_ago(5)))  # latest wins: detractor
    silent = CustomerFactory()
    got = values("nps", [c, silent])
    assert got[c.pk] == pytest.approx(100 * (2 - 1) / 3, abs=0.01)
    assert got[silent.pk] is None


def test_csat_is_share_satisfied_in_90_days():
    c = CustomerFactory()
    contact = ContactFactory(customer=c)
    for score, ago in [(5, 1), (4, 2), (2, 3), (1, 100)]:
        ResponseFactory(contact=contact, kind="csat", score=score, answered_at=at(days_ago(ago)))
    assert values("csat", [c])[c.pk] == pytest.approx(100 * 2 / 3, abs=0.01)


def test_pulse_is_latest_score_and_missing_after_60_days():
    fresh, stale, never = CustomerFactory(), CustomerFactory(), CustomerFactory()
    PulseFactory(customer=fresh, score=2, created_at=at(days_ago(40)))
    PulseFactory(customer=fresh, score=4, created_at=at(days_ago(3)))
    PulseFactory(customer=fresh, score=1, created_at=at(DAY + dt.timedelta(days=1)))  # after the day
    PulseFactory(customer=stale, score=5, created_at=at(days_ago(61)))
    got = values("pulse", [fresh, stale, never])
    assert got == {fresh.pk: 4.0, stale.pk: None, never.pk: None}
    assert get_factor("pulse").readings(customer_ids=[fresh.pk], day=DAY)[fresh.pk].as_of == days_ago(3)


def test_engagement_is_days_since_last_touchpoint_and_missing_if_never():
    seen, never = CustomerFactory(), CustomerFactory()
    TouchpointFactory(customer=seen, occurred_at=at(days_ago(50)))
    TouchpointFactory(customer=seen, occurred_at=at(days_ago(21)))
    TouchpointFactory(customer=seen, occurred_at=at(DAY + dt.timedelta(days=2)))  # in the future of DAY
    assert values("engagement", [seen, never]) == {seen.pk: 21.0, never.pk: None}
