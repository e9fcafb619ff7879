"""Demo health history for `seed_demo`: 120 days of snapshots, computed day by day in date order (so bands
carry their hysteresis), from whatever usage, tickets, surveys, pulses and touchpoints the other demo parts
made. Declining customers (accounts.demo trajectories) slide into red on their own.

Called from metrics/demo.py's seed(). Idempotent: a day whose snapshots are all there is skipped.
Fast on SQLite: the usage figures of all 120 days come from one read of the rollup (sliding 30/60-day
windows in Python) and are handed to the usage factors, which would otherwise scan 60 days of rollup per day;
every other factor runs its normal query. tests/metrics/health/test_demo.py checks both paths agree.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any

from django.db.models import Count

from accounts.demo import plan_customers
from accounts.models import Contact, Customer, LifecycleStage, Pulse
from metrics.models import Priority, Ticket, UsageDaily
from surveys.models import Kind, Response

from ..models import HealthSnapshot
from .factors.usage_window import WINDOW_DAYS, UsageStats, key_features, preload, shared_scan
from .services import (
    customer_id_chunks,
    customers_denormalise,
    days_between,
    health_model_current,
    health_recompute,
    scored_ids,
)

DAYS = 120
SLIDING = 4  # "steady" customers whose last six weeks go wrong, so the demo shows a slide into red
SLIDE_MARK = "(demo: health slide)"


def add_slides(ctx: Any) -> list[str]:
    """Pulses falling 3 -> 2 -> 1, urgent tickets piling up and two detractor answers over the last six
    weeks, for a few steady customers with a CSM. Idempotent: recognised by the pulse note / ticket ids."""
    plans = [
        p
        for p in plan_customers(ctx, ctx.customers)
        if p.trajectory == "steady" and p.csm_slot is not None and p.churned_on is None
    ][:SLIDING]
    customers = {
        c.external_id: c for c in Customer.objects.filter(external_id__in=[p.external_id for p in plans])
    }
    slid = []
    for plan in plans:
        customer = customers.get(plan.external_id)
        if customer is None or Pulse.objects.filter(customer=customer, note__endswith=SLIDE_MARK).exists():
            continue
        for back, score, note in [
            (40, 3, "Sponsor distracted by a reorg."),
            (22, 2, "Adoption stalled, champion left."),
            (5, 1, "Sponsor stopped replying; renewal at serious risk."),
        ]:
            Pulse.objects.create(
                customer=customer,
                author=customer.csm,
                score=score,
                note=f"{note} {SLIDE_MARK}",
                created_at=ctx.at(ctx.today - dt.timedelta(days=back), 11),
            )
        for n, back in enumerate([24, 13, 6, 2]):
            Ticket.objects.get_or_create(
                external_id=f"{plan.external_id}-SLIDE-{n + 1}",
                defaults={
                    "customer": customer,
                    "opened_at": ctx.at(ctx.today - dt.timedelta(days=back), 9),
                    "priority": Priority.URGENT if n % 2 == 0 else Priority.HIGH,
                    "category": "Outage",
                },
            )
        for contact in Contact.objects.filter(customer=customer).order_by("email")[:2]:
            Response.objects.get_or_create(
                customer=customer,
                contact_email=contact.email,
                kind=Kind.NPS,
                answered_at=ctx.at(ctx.today - dt.timedelta(days=9), 15),
                defaults={
                    "contact": contact,
                    "score": 2,
                    "comment": "Two outages this month and no answers.",
                },
            )
        slid.append(customer.name)
    return slid


def usage_series(*, first: dt.date, last: dt.date, names: tuple[str, ...]) -> dict[dt.date, dict]:
    """UsageStats per customer for every day in [first, last], from one read of the rollup."""
    per: dict[int, dict[dt.date, list]] = defaultdict(dict)
    keys = set(names)
    rows = UsageDaily.objects.filter(
        day__gte=first - dt.timedelta(days=2 * WINDOW_DAYS - 1), day__lte=last
    ).values_list("customer_id", "user_id", "feature", "day", "events")
    for cid, user, feature, day, events in rows.iterator(chunk_size=10_000):
        slot = per[cid].get(day)
        if slot is None:
            slot = per[cid][day] = [0, set(), set(), 0]
        slot[0] += events
        slot[1].add(user)
        if feature in keys:
            slot[2].add(feature)
            slot[3] += events
    series: dict[dt.date, dict] = {}
    for day in days_between(first, last):
        recent_start = day - dt.timedelta(days=WINDOW_DAYS - 1)
        previous_start = recent_start - dt.timedelta(days=WINDOW_DAYS)
        stats = {}
        for cid, by_day in per.items():
            users: set = set()
            features: set = set()
            recent = previous = key_events = 0
            last_recent = last_any = None
            for d, (events, day_users, day_features, day_key_events) in by_day.items():
                if d < previous_start or d > day:
                    continue
                last_any = d if last_any is None or d > last_any else last_any
                if d >= recent_start:
                    recent += events
                    users |= day_users
                    features |= day_features
                    key_events += day_key_events
                    last_recent = d if last_recent is None or d > last_recent else last_recent
                else:
                    previous += events
            if last_any is not None:
                stats[cid] = UsageStats(
                    len(users), recent, previous, len(features), last_recent, last_any, key_events
                )
        series[day] = stats
    return series


def seed(ctx: Any) -> None:
    started = time.monotonic()
    slid = add_slides(ctx)
    if slid:
        ctx.log(f"health: {', '.join(slid)} slide towards red over the last six weeks")
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
    todo = [day for day in days_between(first, ctx.today) if done.get(day) != expected]
    chunks = customer_id_chunks(chunk_size=100_000)  # a demo fits one chunk: the preloaded figures match it
    if todo and len(chunks) == 1:
        names = key_features()
        series = usage_series(first=todo[0], last=todo[-1], names=names)
        ids = scored_ids(*chunks[0], day=ctx.today)
        for day in todo:
            with shared_scan():
                preload(customer_ids=ids, day=day, stats=series[day], names=names)
                health_recompute(day=day, model=model, run_hooks=False, denormalise=False, chunk_size=100_000)
    else:
        for day in todo:
            health_recompute(day=day, model=model, run_hooks=False, denormalise=False)
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
        f"health: {len(todo)} of {DAYS} days computed in {time.monotonic() - started:.1f}s; today "
        f"{bands.get('green', 0)} green, {bands.get('yellow', 0)} yellow, {bands.get('red', 0)} red, "
        f"{bands.get('', 0)} without enough data"
    )
    seed_backtest(ctx, model=model)


def seed_backtest(ctx: Any, *, model: Any) -> None:
    """The model page's "Does vN predict churn?" card on a new demo: the backtest of the version in force over
    the default range, computed inline once (a few seconds). Idempotent: kept if one of the version exists."""
    from ..models import BacktestKind, HealthBacktestJob
    from .backtest import DEFAULT_HORIZONS
    from .backtest_jobs import backtest_job_latest_of_model, backtest_job_run, default_range

    if backtest_job_latest_of_model(model=model) is not None:
        return
    started = time.monotonic()
    start, end = default_range(ctx.today)
    job = HealthBacktestJob.objects.create(
        kind=BacktestKind.BACKTEST, start=start, end=end, model=model, horizons=list(DEFAULT_HORIZONS)
    )
    state = backtest_job_run(job_id=job.pk)
    ctx.log(
        f"health: backtest of v{model.version} from {start} to {end}: {state} "
        f"in {time.monotonic() - started:.1f}s"
    )
