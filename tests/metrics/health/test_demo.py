"""The demo backfill's fast path (usage figures of all days from one read) gives exactly the snapshots of the
plain per-day recompute."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest

from accounts.demo import DemoContext
from metrics.health import demo
from metrics.health.services import health_recompute
from metrics.models import HealthSnapshot
from tests.factories import CustomerFactory, KeyFeatureFactory, PulseFactory, TouchpointFactory

from .conftest import DAY, at, usage

pytestmark = pytest.mark.django_db


def rows() -> list[tuple]:
    return list(
        HealthSnapshot.objects.order_by("customer_id", "date").values_list(
            "customer_id", "date", "score", "band", "model_id", "components"
        )
    )


def test_demo_backfill_matches_the_plain_recompute(monkeypatch):
    KeyFeatureFactory(name="reports")
    KeyFeatureFactory(name="alerts")
    for i in range(4):
        c = CustomerFactory(licenses=5 + i)
        for back in range(0, 200, 3 + i):
            day = DAY - dt.timedelta(days=back)
            usage(c, users=1 + (back + i) % 6, day=day, features=("reports", "export", "alerts")[: 1 + i % 3])
        PulseFactory(customer=c, score=1 + i, created_at=at(DAY - dt.timedelta(days=20 * i)))
        TouchpointFactory(customer=c, occurred_at=at(DAY - dt.timedelta(days=15 * i)))
    monkeypatch.setattr(demo, "DAYS", 12)
    ctx = DemoContext(rng=random.Random(1), today=DAY, customers=4, stdout=io.StringIO())
    demo.seed(ctx)
    fast = rows()
    assert len(fast) == 4 * 12
    assert "12 of 12 days computed" in ctx.stdout.getvalue()

    HealthSnapshot.objects.all().delete()
    for back in range(11, -1, -1):
        health_recompute(day=DAY - dt.timedelta(days=back), run_hooks=False)
    assert rows() == fast

    demo.seed(ctx)  # everything there: nothing recomputed
    assert "0 of 12 days computed" in ctx.stdout.getvalue()
