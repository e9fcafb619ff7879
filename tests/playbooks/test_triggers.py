"""Each condition of docs/playbooks.md fires on the right data and not on the wrong data; re-evaluation,
cooldown,
hysteresis."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import LifecycleStage
from metrics.models import Renewal, UsageDaily
from playbooks.models import Run, RunStatus, Task
from playbooks.triggers import clean_params
from tests.factories import CustomerFactory, ResponseFactory, TouchpointFactory

from .conftest import evaluate, make_playbook, runs_for, snapshot

TODAY = dt.date(2026, 3, 10)
NOW = timezone.make_aware(dt.datetime(2026, 3, 10, 3, 0))


def usage(customer, day: dt.date, *, users: int = 1, events: int = 1) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(
            customer=customer, user_id=f"u{i}", feature="reports", day=day, events=events, quantity=events
        )
        for i in range(users)
    )


# --- band_entered ------------------------------------------------------------------------------------------


def test_band_entered_red_fires_on_entry_only(csm, health_model):
    playbook, trigger = make_playbook(condition="band_entered", params={"band": "red"})
    entered, stays_yellow, always_green = (CustomerFactory(csm=csm) for _ in range(3))
    for c, (before, today) in {entered: (50, 30), stays_yellow: (50, 45), always_green: (80, 82)}.items():
        snapshot(c, TODAY - dt.timedelta(days=1), before)
        snapshot(c, TODAY, today)

    assert evaluate(trigger, today=TODAY, now=NOW) == 1
    run = Run.objects.get(playbook=playbook)
    assert run.customer == entered
    assert run.assignee == csm
    assert run.trigger == trigger
    assert run.reason_values["values"]["score"] == 30.0
    assert run.reason_values["values"]["previous_band"] == "yellow"
    assert "entered red" in run.reason
    assert Task.objects.filter(run=run).count() == 2


def test_band_entered_needs_todays_snapshot(csm, health_model):
    _, trigger = make_playbook(condition="band_entered", params={"band": "red"})
    customer = CustomerFactory(csm=csm)
    snapshot(customer, TODAY - dt.timedelta(days=1), 20)
    assert evaluate(trigger, today=TODAY, now=NOW) == 0  # yesterday's red is not news today


def test_band_entered_yellow_from_green(csm, health_model):
    _, trigger = make_playbook(condition="band_entered", params={"band": "yellow"})
    customer = CustomerFactory(csm=csm)
    snapshot(customer, TODAY - dt.timedelta(days=1), 85)
    snapshot(customer, TODAY, 55)
    assert evaluate(trigger, today=TODAY, now=NOW) == 1


def test_hysteresis_wobble_starts_one_run(csm, health_model):
    """docs/health.md's example moved to the default v4's green ≥ 64 (margin 3): scores 66, 62, 65, 60 enter
    yellow once (on 60)."""
    assert (float(health_model.green_threshold), float(health_model.hysteresis_margin)) == (64.0, 3.0)
    playbook, trigger = make_playbook(condition="band_entered", params={"band": "yellow"}, cooldown=0)
    customer = CustomerFactory(csm=csm)
    start = TODAY - dt.timedelta(days=3)
    bands = []
    for offset, score in enumerate([66, 62, 65, 60]):
        day = start + dt.timedelta(days=offset)
        bands.append(snapshot(customer, day, score).band)
        evaluate(trigger, today=day, now=NOW + dt.timedelta(days=offset - 3))
    assert bands == ["green", "green", "green", "yellow"]
    assert runs_for(playbook, customer).count() == 1

    # It keeps wobbling below 67 (the way back to green): still the same single entry, even once the run is
    # closed and the cooldown (0 days) is over.
    Run.objects.filter(playbook=playbook).update(status=RunStatus.DONE, closed_at=NOW)
    for offset, score in enumerate([63, 66, 61], start=4):
        day = start + dt.timedelta(days=offset)
        assert snapshot(customer, day, score).band == "yellow"
        evaluate(trigger, today=day, now=NOW + dt.timedelta(days=offset - 3))
    assert runs_for(playbook, customer).count() == 1


def test_band_entered_again_after_recovering(csm, health_model):
    playbook, trigger = make_playbook(condition="band_entered", params={"band": "red"}, cooldown=0)
    customer = CustomerFactory(csm=csm)
    snapshot(customer, TODAY - dt.timedelta(days=3), 30, "red")
    evaluate(trigger, today=TODAY - dt.timedelta(days=3), now=NOW - dt.timedelta(days=3))
    Run.objects.update(status=RunStatus.DONE, closed_at=NOW - dt.timedelta(days=3))
    snapshot(customer, TODAY - dt.timedelta(days=2), 55, "yellow")
    snapshot(customer, TODAY - dt.timedelta(days=1), 35, "red")
    assert evaluate(trigger, today=TODAY - dt.timedelta(days=1), now=NOW - dt.timedelta(days=1)) == 1
    assert runs_for(playbook, customer).count() == 2


# --- score_drop --------------------------------------------------------------------------------------------


def test_score_drop_fires_on_big_drop_only(csm, health_model):
    playbook, trigger = make_playbook(condition="score_drop", params={"points": 15, "days": 7})
    dropped, small_drop, no_history = (CustomerFactory(csm=csm) for _ in range(3))
    week_ago = TODAY - dt.timedelta(days=7)
    snapshot(dropped, week_ago, 80)
    snapshot(dropped, TODAY, 64)
    snapshot(small_drop, week_ago, 80)
    snapshot(small_drop, TODAY, 66)
    snapshot(no_history, TODAY, 20)
    assert evaluate(trigger, today=TODAY, now=NOW) == 1
    run = Run.objects.get(playbook=playbook)
    assert run.customer == dropped
    assert run.reason_values["values"]["drop"] == 16.0


# --- survey answers (fast) ---------------------------------------------------------------------------------


def test_nps_detractor_fires_once_per_answer(csm):
    playbook, trigger = make_playbook(condition="nps_detractor", params={"max_score": 6, "within_days": 14})
    detractor, passive = CustomerFactory(csm=csm), CustomerFactory(csm=csm)
    now = timezone.now()
    ResponseFactory(contact__customer=detractor, kind="nps", score=3, answered_at=now - dt.timedelta(hours=2))
    ResponseFactory(contact__customer=passive, kind="nps", score=7, answered_at=now - dt.timedelta(hours=2))
    ResponseFactory(contact__customer=passive, kind="csat", score=1, answered_at=now - dt.timedelta(hours=2))
    assert evaluate(trigger) == 1
    run = runs_for(playbook).get()
    assert run.customer == detractor
    assert run.reason_values["values"]["score"] == 3

    # The run is closed and the cooldown over: the same answer does not start it again (cursor) ...
    Run.objects.update(status=RunStatus.DONE, closed_at=now - dt.timedelta(days=60))
    assert evaluate(trigger) == 0
    # ... a new detractor answer does.
    ResponseFactory(contact__customer=detractor, kind="nps", score=0, answered_at=now)
    assert evaluate(trigger) == 1


def test_nps_detractor_ignores_old_answers(csm):
    _, trigger = make_playbook(condition="nps_detractor", params={"within_days": 14})
    customer = CustomerFactory(csm=csm)
    ResponseFactory(
        contact__customer=customer, kind="nps", score=2, answered_at=timezone.now() - dt.timedelta(days=40)
    )
    assert evaluate(trigger) == 0


def test_csat_low_fires_at_two_or_less(csm):
    playbook, trigger = make_playbook(condition="csat_low", params={"max_score": 2})
    low, okay = CustomerFactory(csm=csm), CustomerFactory(csm=csm)
    ResponseFactory(contact__customer=low, kind="csat", score=2)
    ResponseFactory(contact__customer=okay, kind="csat", score=3)
    ResponseFactory(contact__customer=okay, kind="nps", score=1)
    assert evaluate(trigger) == 1
    assert runs_for(playbook).get().customer == low


# --- no_touchpoint, renewal_due, new_customer ---------------------------------------------------------------


def test_no_touchpoint_fires_after_n_days_of_silence(csm):
    playbook, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    silent, recent, never_old, never_new = (CustomerFactory(csm=csm) for _ in range(4))
    now = timezone.now()
    TouchpointFactory(customer=silent, occurred_at=now - dt.timedelta(days=45))
    TouchpointFactory(customer=recent, occurred_at=now - dt.timedelta(days=45))
    TouchpointFactory(customer=recent, occurred_at=now - dt.timedelta(days=5))
    never_old.contract_start = timezone.localdate() - dt.timedelta(days=100)
    never_old.save()
    never_new.contract_start = timezone.localdate() - dt.timedelta(days=10)
    never_new.save()
    assert evaluate(trigger) == 2
    assert set(runs_for(playbook).values_list("customer", flat=True)) == {silent.pk, never_old.pk}
    run = runs_for(playbook, silent).get()
    assert run.reason_values["values"]["days_since"] == 45


def test_renewal_due_fires_once_per_renewal_date(csm):
    playbook, trigger = make_playbook(condition="renewal_due", params={"days": 90}, cooldown=0)
    today = timezone.localdate()
    soon = CustomerFactory(csm=csm, renewal_date=today + dt.timedelta(days=60))
    CustomerFactory(csm=csm, renewal_date=today + dt.timedelta(days=120))
    CustomerFactory(csm=csm, renewal_date=today - dt.timedelta(days=5))
    CustomerFactory(csm=csm, renewal_date=None)
    assert evaluate(trigger) == 1
    assert runs_for(playbook).get().customer == soon
    Run.objects.update(status=RunStatus.DONE, closed_at=timezone.now() - dt.timedelta(days=1))
    assert evaluate(trigger) == 0  # same renewal date: prepared already
    soon.renewal_date = today + dt.timedelta(days=80)  # next term (say) — a new date, a new run
    soon.save()
    assert evaluate(trigger) == 1


def test_new_customer_fires_once(csm):
    playbook, trigger = make_playbook(condition="new_customer", params={"within_days": 30}, cooldown=0)
    today = timezone.localdate()
    new = CustomerFactory(
        csm=csm, contract_start=today - dt.timedelta(days=3), lifecycle_stage=LifecycleStage.ONBOARDING
    )
    CustomerFactory(csm=csm, contract_start=today - dt.timedelta(days=300))
    CustomerFactory(csm=csm, contract_start=today + dt.timedelta(days=20))  # not started yet
    assert evaluate(trigger) == 1
    assert runs_for(playbook).get().customer == new
    Run.objects.update(status=RunStatus.DONE, closed_at=timezone.now() - dt.timedelta(days=1))
    assert evaluate(trigger) == 0  # onboarding happens once


# --- usage ------------------------------------------------------------------------------------------------


def test_usage_drop_month_over_month(csm):
    playbook, trigger = make_playbook(condition="usage_drop", params={"percent": 30, "min_events": 20})
    dropped, steady, tiny = (CustomerFactory(csm=csm) for _ in range(3))
    prev_day, last_day = TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=5)
    usage(dropped, prev_day, users=10, events=10)  # 100 before
    usage(dropped, last_day, users=6, events=10)  # 60 now: -40 %
    usage(steady, prev_day, users=10, events=10)
    usage(steady, last_day, users=8, events=10)  # -20 %
    usage(tiny, prev_day, users=1, events=10)  # 10 before: below min_events
    assert evaluate(trigger, today=TODAY, now=NOW) == 1
    run = runs_for(playbook).get()
    assert run.customer == dropped
    assert run.reason_values["values"] == {"events_last_30d": 60, "events_prev_30d": 100, "change_pct": 40.0}


def test_license_utilization_below(csm):
    playbook, trigger = make_playbook(
        condition="license_utilization_below", params={"utilization": 0.3, "grace_days": 60}
    )
    live = TODAY - dt.timedelta(days=200)
    low = CustomerFactory(csm=csm, licenses=100, go_live_date=live)
    fine = CustomerFactory(csm=csm, licenses=10, go_live_date=live)
    CustomerFactory(csm=csm, licenses=100, go_live_date=TODAY - dt.timedelta(days=10))  # still rolling out
    CustomerFactory(csm=csm, licenses=0, go_live_date=live)  # no licenses: undefined, not low
    usage(low, TODAY - dt.timedelta(days=3), users=20)
    usage(low, TODAY - dt.timedelta(days=45), users=50)  # outside the 30-day window
    usage(fine, TODAY - dt.timedelta(days=3), users=5)
    assert evaluate(trigger, today=TODAY, now=NOW) == 1
    run = runs_for(playbook).get()
    assert run.customer == low
    assert run.reason_values["values"]["utilization"] == 0.2


# --- idempotence, cooldown, eligibility ---------------------------------------------------------------


def test_reevaluation_creates_no_duplicates(csm, health_model):
    playbook, trigger = make_playbook(condition="band_entered", params={"band": "red"})
    customers = [CustomerFactory(csm=csm) for _ in range(3)]
    for c in customers:
        snapshot(c, TODAY, 20, "red")
    assert evaluate(trigger, today=TODAY, now=NOW) == 3
    assert evaluate(trigger, today=TODAY, now=NOW) == 0
    assert evaluate(trigger, today=TODAY, now=NOW + dt.timedelta(minutes=5)) == 0
    assert runs_for(playbook).count() == 3
    assert Task.objects.filter(run__playbook=playbook).count() == 6


def test_cooldown_after_a_run_closes(csm):
    playbook, trigger = make_playbook(condition="no_touchpoint", params={"days": 30}, cooldown=14)
    customer = CustomerFactory(csm=csm, contract_start=timezone.localdate() - dt.timedelta(days=365))
    now = timezone.now()
    assert evaluate(trigger, now=now) == 1
    Run.objects.update(status=RunStatus.DONE, closed_at=now - dt.timedelta(days=10))
    assert evaluate(trigger, now=now) == 0  # 10 days after closing, cooldown 14
    Run.objects.update(closed_at=now - dt.timedelta(days=15))
    assert evaluate(trigger, now=now) == 1
    assert runs_for(playbook, customer).count() == 2


def test_churned_customers_are_left_alone(csm):
    _, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    CustomerFactory(csm=csm, lifecycle_stage=LifecycleStage.CHURNED, contract_start=dt.date(2020, 1, 1))
    assert evaluate(trigger) == 0


def test_one_open_run_per_playbook_and_customer_is_a_database_rule(csm, customer):
    from django.db import IntegrityError, transaction

    playbook, _ = make_playbook()
    Run.objects.create(playbook=playbook, customer=customer, reason="first")
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(playbook=playbook, customer=customer, reason="second")
    Run.objects.update(status=RunStatus.CANCELLED)
    Run.objects.create(playbook=playbook, customer=customer, reason="after closing")  # allowed


# --- parameters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "params", "field"),
    [
        ("band_entered", {"band": "green"}, "band"),
        ("score_drop", {"points": 0}, "points"),
        ("score_drop", {"points": "ten"}, "points"),
        ("csat_low", {"max_score": 5}, "max_score"),
        ("usage_drop", {"percent": 150}, "percent"),
        ("license_utilization_below", {"utilization": 2}, "utilization"),
        ("renewal_due", {"days": -1}, "days"),
        ("no_touchpoint", {"days": 10, "extra": 1}, "extra"),
    ],
)
def test_invalid_params_are_field_errors(condition, params, field):
    with pytest.raises(ValidationError) as exc:
        clean_params(condition, params)
    assert field in exc.value.message_dict


def test_params_get_defaults():
    assert clean_params("renewal_due", {}) == {"days": 90}
    assert clean_params("score_drop", {"points": "20"}) == {"points": 20, "days": 30}


def test_disabled_playbooks_and_triggers_start_nothing(csm):
    from playbooks.evaluation import triggers_evaluate

    playbook, trigger = make_playbook(condition="no_touchpoint", params={"days": 30})
    CustomerFactory(csm=csm, contract_start=dt.date(2020, 1, 1))
    playbook.enabled = False
    playbook.save()
    assert triggers_evaluate().total_started == 0
    playbook.enabled = True
    playbook.save()
    trigger.enabled = False
    trigger.save()
    assert triggers_evaluate().total_started == 0
    trigger.enabled = True
    trigger.save()
    assert triggers_evaluate().total_started == 1


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ({"previous_band": "yellow"}, "Health entered red from yellow: score 31 on 2026-12-07"),
        ({"previous_band": None}, "Health entered red: score 31 on 2026-12-07, its first score"),
        (
            {"previous_band": "red", "outside_band_on": "2026-11-20"},
            "Health entered red after 2026-11-20 and is still red: score 31 on 2026-12-07",
        ),
        (
            {"previous_band": "red", "outside_band_on": None},
            "Health red since its first score: score 31 on 2026-12-07",
        ),
    ],
)
def test_band_entered_reason_never_says_entered_red_was_red(values, text):
    from playbooks.triggers import band_entered

    reason = band_entered.reason({"band": "red"}, {"score": 30.6, "date": "2026-12-07", **values})
    assert reason == text
    assert "was red" not in reason


# --- renewal_risk (docs/renewals.md#playbook-trigger) -------------------------------------------------------


def test_renewal_risk_fires_on_at_risk_or_red_within_the_window_once_per_renewal(csm):
    playbook, trigger = make_playbook(condition="renewal_risk", params={"days": 60}, cooldown=0)
    today = timezone.localdate()
    soon = today + dt.timedelta(days=30)
    at_risk = CustomerFactory(csm=csm)
    Renewal.objects.create(customer=at_risk, due_date=soon, arr_due=1000, category="at_risk")
    red = CustomerFactory(csm=csm, health_band="red")
    Renewal.objects.create(customer=red, due_date=soon, arr_due=1000, category="commit")
    fine = CustomerFactory(csm=csm, health_band="green")
    Renewal.objects.create(customer=fine, due_date=soon, arr_due=1000, category="likely")
    later = CustomerFactory(csm=csm)
    Renewal.objects.create(
        customer=later, due_date=today + dt.timedelta(days=90), arr_due=1000, category="at_risk"
    )
    closed = CustomerFactory(csm=csm, health_band="red")
    Renewal.objects.create(
        customer=closed, due_date=soon, arr_due=1000, outcome="churned", category="at_risk"
    )
    assert evaluate(trigger) == 2
    assert set(runs_for(playbook).values_list("customer", flat=True)) == {at_risk.pk, red.pk}
    run = runs_for(playbook, at_risk).get()
    assert run.reason_values["values"]["category"] == "at_risk"
    Run.objects.update(status=RunStatus.DONE, closed_at=timezone.now() - dt.timedelta(days=1))
    assert evaluate(trigger) == 0  # the same renewals: worked already
    Renewal.objects.create(customer=fine, due_date=soon + dt.timedelta(days=1), arr_due=5, category="at_risk")
    assert evaluate(trigger) == 1


def test_renewal_risk_params():
    assert clean_params("renewal_risk", {}) == {"days": 60}
    with pytest.raises(ValidationError):
        clean_params("renewal_risk", {"days": 0})
