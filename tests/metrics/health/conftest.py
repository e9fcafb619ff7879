from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from metrics.health.services import health_model_create
from metrics.models import HealthModel, UsageDaily
from tests.factories import ledger

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
