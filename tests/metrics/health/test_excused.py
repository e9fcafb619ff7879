"""New customers are scored on what exists (docs/health.md#missing-is-not-perfect): a factor whose source
sends nothing to the install, or that does not apply yet to a young customer, is excused — counted neither
as present nor in the weight the "not enough data" rule compares with. A factor missing for a customer while
the install has the source still counts against it."""

from __future__ import annotations

import pytest

from metrics.health.services import health_recompute
from metrics.models import HealthSnapshot, KeyFeature
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory

from .conftest import DAY, at, days_ago, ledger_before, usage

pytestmark = pytest.mark.django_db


def snapshot(customer) -> HealthSnapshot:
    return HealthSnapshot.objects.get(customer=customer, date=DAY)


def by_factor(snap: HealthSnapshot) -> dict:
    return {c["factor"]: c for c in snap.components}


def usage_only_install():
    """The held-out shape: customers, MRR, usage and key features; no tickets, surveys, pulses or
    touchpoints anywhere."""
    KeyFeature.objects.create(name="reports")
    young = CustomerFactory(licenses=10, contract_start=days_ago(20))
    ledger_before(young, (20, 500))
    usage(young, users=8, day=days_ago(3), features=("reports",))
    idle = CustomerFactory(licenses=10, contract_start=days_ago(25))
    ledger_before(idle, (25, 500))
    return young, idle


def test_a_new_customer_of_a_usage_only_install_is_scored_on_what_exists():
    young, idle = usage_only_install()
    health_recompute(day=DAY, run_hooks=False)  # the default model v3
    snap = snapshot(young)
    parts = by_factor(snap)
    # Present: license utilization 0.8 (100 points, weight 12), relative usage (12), feature breadth 1.0
    # (100 points, 8), key-feature share 100 % (100 points, 8), new customer 20 days (0 points, 12) = 52
    # of the 52 counted; the other 48 are excused, not missing.
    assert snap.score is not None
    assert parts["support_load"]["detail"] == {"excused": "no ticket feed"}
    assert parts["nps"]["detail"]["excused"].startswith("no NPS answers")
    assert parts["pulse"]["detail"]["excused"].startswith("no CSM pulse")
    assert parts["engagement"]["detail"]["excused"].startswith("no touchpoint")
    assert parts["usage_trend"]["detail"] == {"excused": "under 60 days of history"}
    assert parts["revenue_trend"]["detail"] == {"excused": "not paying 90 days ago"}
    assert sum(c["weight"] for c in snap.components) == pytest.approx(100.0)
    assert {k for k, c in parts.items() if c["weight"]} == {
        "license_utilization",
        "relative_usage",
        "feature_breadth",
        "key_feature_share",
        "early_tenure",
    }
    # Two customers in the base: the young one ranks 75th (above the idle one), 100 points on 10 -> 60.
    # 4,000 points of weight / 52 = 76.9: a month-old customer is not yet green on its usage alone.
    assert float(snap.score) == pytest.approx(76.9)
    # The idle new customer: no user (0 points, weight 12), no key feature (0, 8), the lowest usage: 25th
    # percentile with ties counted half, 30 points on 10 -> 60 (weight 12), new customer 25 days (0, 12),
    # no event for the key-feature share (missing, not excused: weight 8 counted, none present):
    # 12 x 30 / 44 = 8.2 -> red, not "not enough data".
    idle_snap = snapshot(idle)
    assert float(idle_snap.score) == pytest.approx(8.2)
    assert idle_snap.band == "red"


def test_a_source_the_install_has_counts_against_a_customer_without_data():
    young, _idle = usage_only_install()
    other = CustomerFactory(licenses=10)
    TicketFactory(customer=other, opened_at=at(days_ago(30)))  # a ticket feed exists
    PulseFactory(customer=other, score=4, created_at=at(days_ago(5)))  # pulses are logged
    TouchpointFactory(customer=other, occurred_at=at(days_ago(5)))  # touchpoints are logged
    health_recompute(day=DAY, run_hooks=False)
    parts = by_factor(snapshot(young))
    assert parts["support_load"]["raw_value"] == 0.0  # the feed exists, no open ticket: a load of 0
    for key in ("pulse", "engagement"):  # missing, not excused
        assert parts[key]["raw_value"] is None
        assert parts[key]["detail"] == {}
    # Present: utilization 15 + relative usage 15 + breadth 10 + support load 10 = 50 of the 85 counted
    # (100 less the excused usage trend 5, revenue trend 10): enough.
    assert snapshot(young).score is not None


def test_too_little_present_of_what_is_counted_is_still_not_enough_data():
    other = CustomerFactory(licenses=10)
    TicketFactory(customer=other, opened_at=at(days_ago(30)))
    PulseFactory(customer=other, score=4, created_at=at(days_ago(5)))
    TouchpointFactory(customer=other, occurred_at=at(days_ago(5)))
    # No licenses (utilization missing), no contract start and no ledger row (tenure missing).
    unlicensed = CustomerFactory(licenses=0, contract_start=None)
    health_recompute(day=DAY, run_hooks=False)
    # Counted (v3): 100 less the excused NPS 8, CSAT 4 (no answers), usage trend 4 (young), revenue trend 8
    # (not paying 90 days ago), feature breadth 8 and key-feature share 8 (no key features) = 60. Present:
    # relative usage 12 + support load 8 = 20 (license utilization, new customer, pulse and engagement are
    # missing: the install has them): under half.
    snap = snapshot(unlicensed)
    assert snap.score is None
    assert snap.band == ""


def test_the_customer_page_says_why_a_factor_is_not_used(client, admin_user):
    young, _idle = usage_only_install()
    health_recompute(day=DAY, run_hooks=False)
    client.force_login(admin_user)
    page = client.get(f"/customers/{young.external_id}/").content.decode()
    assert "not used: no ticket feed" in page
    assert "not used: under 60 days of history" in page
