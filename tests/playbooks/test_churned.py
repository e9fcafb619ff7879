"""Churned customers start no playbook (docs/health.md#who-is-scored): no run of any trigger, the red-health
rescue included, for a customer churned on the evaluated day by the ledger or the lifecycle stage; a
reactivated customer is eligible again, and a past day is evaluated without look-ahead."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Customer, LifecycleStage
from metrics.models import UsageDaily
from tests.factories import CustomerFactory, TouchpointFactory, ledger

from .conftest import evaluate, make_playbook, runs_for, snapshot

TODAY = timezone.localdate()
NOW = timezone.now()


def ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def usage(customer, day: dt.date, *, users: int) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(customer=customer, user_id=f"u{i}", feature="reports", day=day, events=10, quantity=10)
        for i in range(users)
    )


def goes_red(customer, day: dt.date = TODAY) -> None:
    snapshot(customer, day - dt.timedelta(days=1), 50)
    snapshot(customer, day, 30)


# Per condition: its params and what makes a customer match it.
CONDITIONS = {
    "band_entered": ({"band": "red"}, goes_red),
    "score_drop": (
        {"points": 15, "days": 7},
        lambda c: (snapshot(c, ago(7), 80), snapshot(c, TODAY, 60)),
    ),
    "no_touchpoint": (
        {"days": 30},
        lambda c: TouchpointFactory(customer=c, occurred_at=NOW - dt.timedelta(days=45)),
    ),
    "renewal_due": (
        {"days": 90},
        lambda c: Customer.objects.filter(pk=c.pk).update(renewal_date=ago(-60)),
    ),
    "usage_drop": (
        {"percent": 30, "min_events": 20},
        lambda c: (usage(c, ago(40), users=10), usage(c, ago(5), users=5)),
    ),
    "license_utilization_below": (
        {"utilization": 0.3, "grace_days": 60},
        lambda c: (
            Customer.objects.filter(pk=c.pk).update(licenses=100, go_live_date=ago(200)),
            usage(c, ago(3), users=10),
        ),
    ),
}


@pytest.mark.parametrize("condition", sorted(CONDITIONS))
def test_no_trigger_starts_a_run_for_a_churned_customer(condition, csm, health_model):
    params, match = CONDITIONS[condition]
    playbook, trigger = make_playbook(condition=condition, params=params)
    by_ledger, by_stage, paying = (
        CustomerFactory(csm=csm, lifecycle_stage=LifecycleStage.MATURE) for _ in range(3)
    )
    ledger(by_ledger, (300, "500"), (10, "0"))
    ledger(paying, (300, "500"))
    # The ledger alone decides, whatever the stage says (set back by hand after the write churned it).
    Customer.objects.filter(pk=by_ledger.pk).update(lifecycle_stage=LifecycleStage.MATURE)
    Customer.objects.filter(pk=by_stage.pk).update(lifecycle_stage=LifecycleStage.CHURNED)
    for c in (by_ledger, by_stage, paying):
        match(c)
    assert evaluate(trigger, today=TODAY, now=NOW) == 1
    assert runs_for(playbook).get().customer == paying


def test_the_red_health_rescue_skips_the_churned_and_returns_with_the_customer(csm, health_model):
    playbook, trigger = make_playbook(condition="band_entered", params={"band": "red"}, cooldown=0)
    customer = CustomerFactory(csm=csm)
    ledger(customer, (300, "500"), (20, "0"))
    goes_red(customer, ago(30))  # a past day before the churn: no look-ahead, it was still paying
    assert evaluate(trigger, today=ago(30), now=NOW) == 1
    runs_for(playbook).delete()
    goes_red(customer, ago(15))
    assert evaluate(trigger, today=ago(15), now=NOW) == 0  # gone on that day
    ledger(customer, (2, "300"))  # pays again: scored and triggered again
    assert Customer.objects.get(pk=customer.pk).lifecycle_stage == LifecycleStage.ONBOARDING
    goes_red(customer)
    assert evaluate(trigger, today=TODAY, now=NOW) == 1
