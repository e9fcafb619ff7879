"""Demo health history for `seed_demo`: 120 days of snapshots, computed day by day in date order (so bands
carry their hysteresis), from whatever usage, tickets, surveys, pulses and touchpoints the other demo parts
made. Declining customers (accounts.demo trajectories) slide into red on their own.

Called from metrics/demo.py's seed(). Idempotent: a day whose snapshots are all there is skipped.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db.models import Count

from accounts.models import Customer, LifecycleStage

from .models import HealthSnapshot
from .services import (
    customer_id_chunks,
    customers_denormalise,
    days_between,
    health_model_current,
    health_recompute,
)

DAYS = 120


def seed(ctx: Any) -> None:
    started = time.monotonic()
    model = health_model_current()
    first = ctx.today - dt.timedelta(days=DAYS - 1)
    expected = Customer.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).count()
    done = dict(
        HealthSnapshot.objects.filter(date__gte=first, date__lte=ctx.today)
        .values("date")
        .annotate(n=Count("id"))
        .values_list("date", "n")
        .order_by()
    )
    computed = 0
    for day in days_between(first, ctx.today):
        if done.get(day) == expected:
            continue
        health_recompute(day=day, model=model, run_hooks=False, denormalise=False)
        computed += 1
    for lo, hi in customer_id_chunks():
        customers_denormalise(lo=lo, hi=hi)
    bands = dict(
        Customer.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
        .values("health_band")
        .annotate(n=Count("id"))
        .values_list("health_band", "n")
        .order_by()
    )
    ctx.log(
        f"health: {computed} of {DAYS} days computed in {time.monotonic() - started:.1f}s; today "
        f"{bands.get('green', 0)} green, {bands.get('yellow', 0)} yellow, {bands.get('red', 0)} red, "
        f"{bands.get('', 0)} without enough data"
    )
