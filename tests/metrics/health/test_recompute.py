"""Recompute: the management command, idempotence, versions, Customer's denormalised fields, the hook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Customer, LifecycleStage
from metrics.health.services import (
    health_chunk_recompute,
    health_model_create,
    health_model_current,
    health_recompute,
)
from metrics.models import HealthModel, HealthSnapshot
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory

from .conftest import DAY, at, days_ago, usage

pytestmark = pytest.mark.django_db

HOOK_CALLS: list[dt.date] = []


def record_hook(*, day: dt.date) -> None:
    HOOK_CALLS.append(day)


def snapshot_rows(day: dt.date | None = None) -> list[tuple]:
    qs = HealthSnapshot.objects.order_by("customer_id", "date")
    if day:
        qs = qs.filter(date=day)
    return list(qs.values_list("customer_id", "date", "score", "band", "model__version", "components"))


@pytest.fixture
def book():
    """Three customers: healthy, struggling, and one with too little data."""
    healthy = CustomerFactory(name="Healthy", licenses=10)
    struggling = CustomerFactory(name="Struggling", licenses=10)
    unknown = CustomerFactory(name="Unknown", licenses=0)
    for d in range(0, 60, 3):
        usage(healthy, users=8, day=days_ago(d))
        usage(struggling, users=1 if d < 30 else 6, day=days_ago(d))
    PulseFactory(customer=healthy, score=5, created_at=at(days_ago(2)))
    PulseFactory(customer=struggling, score=2, created_at=at(days_ago(2)))
    TouchpointFactory(customer=healthy, occurred_at=at(days_ago(4)))
    TicketFactory(customer=struggling, priority="urgent", opened_at=at(days_ago(9)))
    return healthy, struggling, unknown


def test_command_computes_every_customer_for_the_day(book):
    healthy, struggling, unknown = book
    call_command("recompute_health", "--date", DAY.isoformat())
    snaps = {s.customer_id: s for s in HealthSnapshot.objects.filter(date=DAY)}
    assert set(snaps) == {healthy.pk, struggling.pk, unknown.pk}
    assert snaps[healthy.pk].band == "green"
    assert snaps[struggling.pk].band == "red"
    assert snaps[unknown.pk].score is None  # support load and relative usage alone: 25 of 100
    assert snaps[unknown.pk].band == ""
    assert snaps[healthy.pk].model == HealthModel.objects.current()


def test_recompute_twice_is_noop(book):
    call_command("recompute_health", "--date", DAY.isoformat())
    first = snapshot_rows()
    ids = list(HealthSnapshot.objects.values_list("pk", flat=True))
    call_command("recompute_health", "--date", DAY.isoformat())
    assert snapshot_rows() == first
    assert HealthSnapshot.objects.count() == len(ids)


def test_rerun_after_an_interrupted_run_leaves_one_complete_set(book):
    healthy, *_ = book
    model = health_model_current()
    call_command("recompute_health", "--date", DAY.isoformat())
    expected = snapshot_rows()
    HealthSnapshot.objects.all().delete()
    # A worker died after committing the first chunk only; the rest of the day has no snapshots.
    health_chunk_recompute(day=DAY, model_id=model.pk, lo=healthy.pk, hi=healthy.pk)
    assert HealthSnapshot.objects.count() == 1
    health_recompute(day=DAY, chunk_size=2)
    assert snapshot_rows() == expected


def test_backfill_runs_in_date_order_so_hysteresis_sees_yesterday(book):
    healthy, *_ = book
    call_command("recompute_health", "--from", days_ago(2).isoformat(), "--to", DAY.isoformat())
    dates = sorted(HealthSnapshot.objects.filter(customer=healthy).values_list("date", flat=True))
    assert dates == [days_ago(2), days_ago(1), DAY]


def test_hysteresis_across_days_keeps_green_until_the_margin_is_cleared():
    """The issue's case through stored snapshots: 72, 68, 71, 66, 72, 73 -> green, green, green, yellow,
    yellow, green. A one-factor model (engagement, 100 days -> 0 points, 0 days -> 100) scores 100 - days."""
    c = CustomerFactory(licenses=0)
    health_model_create(
        factors=[{"key": "engagement", "weight": 100, "bad": 100, "good": 0, "enabled": True}],
        green=Decimal(70),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="engagement only",
    )
    got = []
    for i, score in enumerate([72, 68, 71, 66, 72, 73]):
        day = DAY + dt.timedelta(days=i)
        c.touchpoints.all().delete()
        TouchpointFactory(customer=c, occurred_at=at(day - dt.timedelta(days=100 - score)))
        health_recompute(day=day)
        snap = HealthSnapshot.objects.get(customer=c, date=day)
        got.append((int(snap.score), snap.band))
    assert got == [(72, "green"), (68, "green"), (71, "green"), (66, "yellow"), (72, "yellow"), (73, "green")]


def test_model_edit_creates_a_version_and_old_snapshots_keep_theirs(book, manager):
    call_command("recompute_health", "--date", days_ago(1).isoformat())
    v1 = HealthModel.objects.current()
    factors = [
        {"key": f.key, "weight": f.weight, "bad": f.bad, "good": f.good, "enabled": f.key != "nps"}
        for f in v1.factors.all()
    ]
    v2 = health_model_create(
        factors=factors, green=Decimal(75), yellow=Decimal(45), margin=Decimal(2), note="No NPS", user=manager
    )
    assert (v2.version, v2.created_by, v2.note) == (v1.version + 1, manager, "No NPS")
    assert HealthModel.objects.current() == v2
    call_command("recompute_health", "--date", DAY.isoformat())
    assert set(HealthSnapshot.objects.filter(date=days_ago(1)).values_list("model__version", flat=True)) == {
        v1.version
    }
    assert set(HealthSnapshot.objects.filter(date=DAY).values_list("model__version", flat=True)) == {
        v2.version
    }
    assert v1.factors.get(key="nps").enabled is True  # the old version is untouched
    snap = HealthSnapshot.objects.filter(date=DAY).first()
    assert "nps" not in [c["factor"] for c in snap.components]


def test_customer_fields_follow_the_latest_snapshot(book):
    healthy, *_ = book
    call_command("recompute_health", "--date", days_ago(7).isoformat())
    call_command("recompute_health", "--date", DAY.isoformat())
    PulseFactory(customer=healthy, score=1, created_at=at(DAY + dt.timedelta(days=1)))
    # Backfilling an older day does not move the fields off the latest snapshot.
    call_command("recompute_health", "--date", days_ago(3).isoformat())
    for customer in Customer.objects.all():
        latest = HealthSnapshot.objects.filter(customer=customer).order_by("-date").first()
        week_ago = HealthSnapshot.objects.get(customer=customer, date=days_ago(7))
        assert customer.health_as_of == DAY
        assert customer.health_score == latest.score
        assert customer.health_band == latest.band
        if latest.score is None or week_ago.score is None:
            assert customer.health_change_7d is None
        else:
            assert customer.health_change_7d == latest.score - week_ago.score


def test_churned_customers_get_no_new_snapshot(book):
    healthy, *_ = book
    Customer.objects.filter(pk=healthy.pk).update(lifecycle_stage=LifecycleStage.CHURNED)
    call_command("recompute_health", "--date", DAY.isoformat())
    assert not HealthSnapshot.objects.filter(customer=healthy).exists()


def test_hook_is_called_with_the_day_after_the_recompute(book, settings):
    settings.CSHUB_AFTER_HEALTH_RECOMPUTE = [f"{__name__}.record_hook"]
    HOOK_CALLS.clear()
    call_command("recompute_health", "--from", days_ago(1).isoformat(), "--to", DAY.isoformat())
    assert [days_ago(1), DAY] == HOOK_CALLS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "not a date"),
        (["--date", "2026-01-01", "--from", "2026-01-01", "--to", "2026-01-02"], "either --date"),
        (["--from", "2026-01-01"], "go together"),
        (["--from", "2026-01-05", "--to", "2026-01-01"], "must not be before"),
    ],
)
def test_command_rejects_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("recompute_health", *args)


def test_nightly_task_recomputes_yesterday_and_is_scheduled_at_two(book, settings):
    from celery.schedules import crontab
    from django.utils import timezone

    from cshub.celery import app
    from metrics.tasks import health_recompute_nightly

    settings.CSHUB_AFTER_HEALTH_RECOMPUTE = [f"{__name__}.record_hook"]
    HOOK_CALLS.clear()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert health_recompute_nightly.delay().get() == yesterday.isoformat()  # eager in tests: the whole chord
    assert HealthSnapshot.objects.filter(date=yesterday).count() == 3
    assert yesterday == HOOK_CALLS[0]
    entry = app.conf.beat_schedule["health-recompute-nightly"]
    assert entry["task"] == "metrics.tasks.health_recompute_nightly"
    assert entry["schedule"] == crontab(minute=0, hour=2)
