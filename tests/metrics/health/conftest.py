from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.utils import timezone

from metrics.health.services import health_model_create
from metrics.models import HealthModel, UsageDaily
from tests.factories import CustomerFactory, MrrEntryFactory, PulseFactory, ledger
from tests.requirements import require_postgres, require_redis

DAY = dt.date(2026, 6, 30)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    """An aware datetime on `day` in TIME_ZONE."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def days_ago(n: int, day: dt.date = DAY) -> dt.date:
    return day - dt.timedelta(days=n)


def ledger_before(customer, *rows: tuple[int, int]) -> None:
    """MRR ledger rows (days before DAY, mrr), written through the service as tests.factories.ledger writes
    them (which counts days before today)."""
    offset = (timezone.localdate() - DAY).days
    ledger(customer, *((n + offset, mrr) for n, mrr in rows))


def usage(customer, *, users: int, day: dt.date, features=("reports",), events: int = 1, prefix: str = "u"):
    """`users` distinct users of `customer` each with `events` events of every feature on `day`."""
    UsageDaily.objects.bulk_create(
        UsageDaily(
            customer=customer, user_id=f"{prefix}{i}", feature=f, day=day, events=events, quantity=events
        )
        for i in range(users)
        for f in features
    )


V1_FACTORS = [  # the shipped default model v1 (migration 0004): key, weight, bad, good
    ("license_utilization", 20, 0.0, 0.8),
    ("usage_trend", 10, 0.5, 1.0),
    ("feature_breadth", 10, 0.0, 0.8),
    ("support_load", 15, 5.0, 0.0),
    ("nps", 15, -100.0, 100.0),
    ("csat", 5, 0.0, 100.0),
    ("pulse", 15, 1.0, 5.0),
    ("engagement", 10, 60.0, 14.0),
]


def v1_model() -> HealthModel:
    """A new version in force with v1's factors and thresholds: for tests whose numbers assume them."""
    return health_model_create(
        factors=[{"key": k, "weight": w, "bad": b, "good": g, "enabled": True} for k, w, b, g in V1_FACTORS],
        green=Decimal(70),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="v1 weights (test)",
    )


@pytest.fixture
def pulse_population(db):
    """A model of the CSM pulse alone (1 -> 0, 5 -> 100 points; green >= 70, yellow >= 40) in force, and four
    customers paying 100 since 2025-06-01 with a pulse on the eve of each month start of 2026-01..03: A pulse
    5 stays; B pulse 2 churns 2026-02-20; C pulse 3 churns 2026-03-15; D has no pulse (not enough data).
    For the backtest's API and pages (test_backtest.py works its own population out by hand)."""
    model = health_model_create(
        factors=[{"key": "pulse", "weight": 100, "bad": 1.0, "good": 5.0, "enabled": True}],
        green=70,
        yellow=40,
        margin=3,
        note="pulse only (test)",
    )
    customers = {name: CustomerFactory(name=name) for name in "ABCD"}
    for name, score, churn in (
        ("A", 5, None),
        ("B", 2, dt.date(2026, 2, 20)),
        ("C", 3, dt.date(2026, 3, 15)),
        ("D", None, None),
    ):
        customer = customers[name]
        MrrEntryFactory(customer=customer, effective_date=dt.date(2025, 6, 1), mrr=100)
        if churn:
            MrrEntryFactory(customer=customer, effective_date=churn, mrr=0)
        if score:
            for eve in (dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28)):
                PulseFactory(customer=customer, score=score, created_at=at(eve))
    return model, customers


@contextmanager
def running_worker(settings, **pool) -> Iterator[None]:
    """A real Celery worker on Redis for the duration (`pool`: start_worker's pool options), tasks no longer
    run inline; an empty queue and no queued live recompute known from an earlier test
    (accounts.dirty.kick)."""
    require_redis()
    require_postgres()
    from celery.contrib.testing.worker import start_worker

    from accounts.dirty import kick_taken
    from cshub.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.control.purge()
    kick_taken()
    try:
        with start_worker(app, **pool, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True
