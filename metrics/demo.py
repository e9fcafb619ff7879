"""Demo data for `seed_demo`: 24 months of MRR history, 90 days of product usage, support tickets, renewals,
key features and a few first-value milestones; then the health history (metrics.health.demo).

Follows accounts.demo's rules: every choice comes from `ctx.rng_for(...)` per customer (deterministic for any
customer count), and a part is generated for a customer only when that customer has none of it yet
(idempotent; a second run adds nothing). Usage goes in through `usage_events_ingest`, so the rollups are
exactly what production ingestion makes; the ledger is linked by `mrr_ledger_relink` like any write.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.demo import DemoContext, plan_customers
from accounts.models import Customer

from .models import KeyFeature, MrrEntry, Renewal, Ticket, UsageDaily, ValueMilestone
from .renewal_rules import forecast_freeze
from .revenue import add_months, month_start
from .services import first_utilization_refresh, mrr_ledger_relink, usage_events_ingest

MONTHS = 24
USAGE_DAYS = 90
TICKET_DAYS = 180
PRICE_PER_LICENSE = {"Enterprise": 38, "Mid-Market": 32, "SMB": 29}
# Demo users per customer are capped (a few thousand in all, seeded in seconds on SQLite).
USER_CAP = {"Enterprise": 40, "Mid-Market": 18, "SMB": 8}
TICKETS_PER_MONTH = {"Enterprise": 5.0, "Mid-Market": 2.5, "SMB": 0.8}
FEATURES = ["dashboards", "reports", "alerts", "integrations", "export", "api", "sharing", "mobile"]
KEY_FEATURES = {
    "dashboards": "Live dashboards",
    "reports": "Scheduled reports",
    "alerts": "Threshold alerts",
    "integrations": "Data source integrations",
}
# Monthly chance of an expansion / contraction, by trajectory (accounts.demo TRAJECTORIES).
MOVES = {
    "healthy": (0.11, 0.02),
    "steady": (0.05, 0.04),
    "declining": (0.02, 0.12),
    "recovering": (0.08, 0.05),
}
CATEGORIES = ["how-to", "bug", "billing", "integration", "performance", "access"]
PRIORITIES = [("low", 0.25), ("normal", 0.5), ("high", 0.18), ("urgent", 0.07)]
RESOLUTION_HOURS = {"urgent": (1, 10), "high": (3, 30), "normal": (6, 80), "low": (12, 200)}


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _ledger(ctx: DemoContext, plan: Any) -> list[tuple[dt.date, Decimal]]:
    """One customer's MRR changes: a start below list price, monthly expansions/contractions by trajectory,
    price changes at renewal, churn on `churned_on`, and for a few customers a lapse and a comeback."""
    rng = ctx.rng_for("mrr", plan.index)
    today = ctx.today
    base = plan.licenses * PRICE_PER_LICENSE[plan.segment] * rng.uniform(0.85, 1.1)
    mrr = base * rng.uniform(0.6, 0.9)
    rows = [(plan.contract_start, _money(mrr))]
    expand, contract = MOVES[plan.trajectory]
    lapse_at = None
    if plan.index % 23 == 4 and plan.churned_on is None and (today - plan.contract_start).days > 420:
        lapse_at = add_months(month_start(today), -rng.randint(6, 14))
    month = add_months(month_start(plan.contract_start), 1)
    while month <= today:
        if plan.churned_on is not None and month >= plan.churned_on:
            break
        if lapse_at is not None and month == lapse_at:
            rows.append((month, Decimal("0.00")))  # lapsed: card declined, budget freeze
            month = add_months(month, rng.randint(2, 4))
            if month <= today:
                mrr *= rng.uniform(0.8, 1.0)
                rows.append((month + dt.timedelta(days=rng.randint(0, 20)), _money(mrr)))  # reactivation
            month = add_months(month, 1)
            continue
        roll = rng.random()
        late = (today - month).days < 365
        if plan.trajectory == "recovering":
            expand, contract = (0.12, 0.02) if late else (0.02, 0.1)
        if roll < expand:
            mrr *= rng.uniform(1.08, 1.3)
            rows.append((month + dt.timedelta(days=rng.randint(0, 25)), _money(mrr)))
        elif roll < expand + contract and (plan.trajectory != "declining" or late):
            mrr *= rng.uniform(0.7, 0.92)
            rows.append((month + dt.timedelta(days=rng.randint(0, 25)), _money(mrr)))
        month = add_months(month, 1)
    if plan.churned_on is not None and plan.churned_on > plan.contract_start:
        rows.append((plan.churned_on, Decimal("0.00")))
    rows = sorted({d: m for d, m in rows if d <= today}.items())
    return rows


def _mrr_on(rows: list[tuple[dt.date, Decimal]], day: dt.date) -> Decimal:
    value = Decimal("0.00")
    for d, m in rows:
        if d > day:
            break
        value = m
    return value


def _seed_mrr(ctx: DemoContext, plans: list[Any], ids: dict[str, int]) -> dict[str, list]:
    have = set(MrrEntry.objects.filter(customer_id__in=ids.values()).values_list("customer_id", flat=True))
    ledgers = {p.external_id: _ledger(ctx, p) for p in plans}
    new_rows = [
        MrrEntry(customer_id=ids[p.external_id], effective_date=d, mrr=m)
        for p in plans
        if ids[p.external_id] not in have
        for d, m in ledgers[p.external_id]
    ]
    MrrEntry.objects.bulk_create(new_rows, batch_size=2000)
    mrr_ledger_relink(customer_ids=sorted({r.customer_id for r in new_rows}))
    ctx.log(f"metrics: {len(new_rows)} MRR ledger rows for {len(ids) - len(have)} customers")
    return ledgers


def _seed_renewals(ctx: DemoContext, plans: list[Any], ids: dict[str, int], ledgers: dict[str, list]) -> None:
    """Past anniversaries in the window (renewed or churned, priced from the ledger); the next one pending."""
    window = add_months(month_start(ctx.today), -MONTHS)
    renewals = []
    for p in plans:
        ledger = ledgers[p.external_id]
        rng = ctx.rng_for("renewals", p.index)
        year = p.contract_start.year + 1
        while True:
            try:
                due = p.contract_start.replace(year=year)
            except ValueError:  # Feb 29th
                due = p.contract_start.replace(year=year, day=28)
            year += 1
            if due < window:
                continue
            before = _mrr_on(ledger, due - dt.timedelta(days=1)) * 12
            if due > ctx.today or (p.churned_on is None and due == p.renewal_date):
                if before > 0 and due <= ctx.today + dt.timedelta(days=400):
                    renewals.append(Renewal(customer_id=ids[p.external_id], due_date=due, arr_due=before))
                break
            if p.churned_on is not None and due >= p.churned_on:
                renewals.append(
                    Renewal(customer_id=ids[p.external_id], due_date=due, arr_due=before, outcome="churned")
                )
                break
            if before <= 0:
                continue
            after = _mrr_on(ledger, due + dt.timedelta(days=45)) * 12
            renewed = after if after > 0 else before
            if rng.random() < 0.4:
                renewed = None  # renewed flat, no amount recorded
            renewals.append(
                Renewal(
                    customer_id=ids[p.external_id],
                    due_date=due,
                    arr_due=before,
                    outcome="renewed",
                    renewed_arr=renewed,
                )
            )
    trajectories = {ids[p.external_id]: p.trajectory for p in plans}
    for r in renewals:
        r.category = _demo_category(ctx, r, trajectories[r.customer_id])
    created = Renewal.objects.bulk_create(renewals, ignore_conflicts=True, batch_size=2000)
    # The forecast the CSMs made before the closed ones closed (docs/renewals.md#expected-arr).
    forecast_freeze(renewal_ids=Renewal.objects.exclude(category="").values("pk"), today=ctx.today)
    ctx.log(f"metrics: {len(created)} renewals considered (existing ones kept)")


# The category a CSM would have given a renewal, by the customer's trajectory (docs/renewals.md#categories).
DEMO_CATEGORIES = {
    "healthy": ["commit", "commit", "likely"],
    "steady": ["likely", "commit", "likely"],
    "declining": ["at_risk", "at_risk", "lost"],
    "recovering": ["likely", "at_risk", "likely"],
}


def _demo_category(ctx: DemoContext, renewal: Renewal, trajectory: str) -> str:
    """Pending renewals due within 90 days mostly have one (a fifth still not); later ones mostly not;
    closed ones had one that their outcome mostly bears out."""
    rng = ctx.rng_for("forecast", renewal.customer_id, renewal.due_date.isoformat())
    if renewal.outcome == "pending":
        soon = renewal.due_date <= ctx.today + dt.timedelta(days=90)
        if rng.random() < (0.2 if soon else 0.7):
            return ""
    elif renewal.outcome == "churned":
        return rng.choice(["at_risk", "lost", "at_risk", "likely"])
    return rng.choice(DEMO_CATEGORIES.get(trajectory, ["likely"]))


def _user_activity(ctx: DemoContext, plan: Any) -> tuple[int, float, float]:
    """(users, activity at the start of the window, at the end) by trajectory."""
    rng = ctx.rng_for("usage", plan.index)
    share = {"healthy": (0.6, 0.9), "steady": (0.4, 0.65), "declining": (0.35, 0.6), "recovering": (0.3, 0.5)}
    low, high = share[plan.trajectory]
    users = max(2, min(USER_CAP[plan.segment], round(plan.licenses * rng.uniform(low, high))))
    start, end = {
        "healthy": (0.55, 0.6),
        "steady": (0.4, 0.4),
        "declining": (0.55, 0.15),
        "recovering": (0.2, 0.5),
    }[plan.trajectory]
    return users, start, end


def _seed_usage(ctx: DemoContext, plans: list[Any], ids: dict[str, int]) -> None:
    have = set(
        UsageDaily.objects.filter(customer_id__in=ids.values())
        .values_list("customer_id", flat=True)
        .distinct()
    )
    first = ctx.today - dt.timedelta(days=USAGE_DAYS - 1)
    batch: list[dict[str, Any]] = []
    accepted = users_total = 0
    tz = timezone.get_current_timezone()

    def flush() -> None:
        nonlocal accepted
        if batch:
            accepted += usage_events_ingest(rows=batch)["accepted"]
            batch.clear()

    for p in plans:
        if ids[p.external_id] in have or p.churned_on is not None or p.go_live_date is None:
            continue
        rng = ctx.rng_for("usage-days", p.index)
        n_users, start, end = _user_activity(ctx, p)
        users_total += n_users
        people = []
        for u in range(n_users):
            favourites = rng.sample(FEATURES[:4], rng.randint(1, 3)) + rng.sample(
                FEATURES[4:], rng.randint(0, 2)
            )
            people.append((f"user-{p.index}-{u:03d}", rng.uniform(0.4, 1.6), favourites))
        day = max(first, p.go_live_date)
        while day <= ctx.today:
            progress = (day - first).days / (USAGE_DAYS - 1)
            activity = start + (end - start) * progress
            if day.weekday() >= 5:
                activity *= 0.25
            for user_id, keenness, favourites in people:
                if rng.random() >= min(activity * keenness, 0.95):
                    continue
                for feature in rng.sample(favourites, 1 if rng.random() < 0.7 else min(len(favourites), 2)):
                    at = dt.datetime.combine(day, dt.time(rng.randint(7, 19), rng.randint(0, 59)), tzinfo=tz)
                    batch.append(
                        {
                            "event_id": f"demo-{p.index}-{user_id}-{day:%Y%m%d}-{feature}",
                            "customer": p.external_id,
                            "user_id": user_id,
                            "feature": feature,
                            "occurred_at": at,
                            "quantity": rng.randint(1, 6),
                        }
                    )
            if len(batch) >= 10_000:
                flush()
            day += dt.timedelta(days=1)
    flush()
    ctx.log(f"metrics: {accepted} usage events from {users_total} users over {USAGE_DAYS} days")


def _seed_tickets(ctx: DemoContext, plans: list[Any], ids: dict[str, int]) -> None:
    have = set(
        Ticket.objects.filter(customer_id__in=ids.values()).values_list("customer_id", flat=True).distinct()
    )
    now = timezone.now()
    tickets = []
    for p in plans:
        if ids[p.external_id] in have:
            continue
        rng = ctx.rng_for("tickets", p.index)
        start = max(p.contract_start, ctx.today - dt.timedelta(days=TICKET_DAYS))
        end = p.churned_on or ctx.today
        months = max((end - start).days, 0) / 30
        rate = TICKETS_PER_MONTH[p.segment] * (1.8 if p.trajectory == "declining" else 1.0)
        for n in range(round(months * rate * rng.uniform(0.6, 1.4))):
            opened = ctx.at(
                start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0))), rng.randint(8, 18)
            )
            priority = _weighted(rng, PRIORITIES)
            if p.trajectory == "declining" and rng.random() < 0.3:
                priority = rng.choice(["high", "urgent"])
            low, high = RESOLUTION_HOURS[priority]
            resolved = opened + dt.timedelta(hours=rng.uniform(low, high))
            recent = (now - opened).days < 10
            if resolved > now or (recent and rng.random() < 0.5) or rng.random() < 0.03:
                resolved = None
            fcr = (
                None if rng.random() < 0.1 else rng.random() < (0.6 if priority in ("low", "normal") else 0.3)
            )
            tickets.append(
                Ticket(
                    external_id=f"DEMO-T-{p.index:04d}-{n:03d}",
                    customer_id=ids[p.external_id],
                    opened_at=opened,
                    resolved_at=resolved,
                    priority=priority,
                    first_contact_resolution=None if resolved is None else fcr,
                    category=rng.choice(CATEGORIES),
                )
            )
    Ticket.objects.bulk_create(tickets, ignore_conflicts=True, batch_size=2000)
    ctx.log(f"metrics: {len(tickets)} support tickets")


def _seed_milestones(ctx: DemoContext, plans: list[Any], ids: dict[str, int]) -> None:
    have = set(
        ValueMilestone.objects.filter(customer_id__in=ids.values()).values_list("customer_id", flat=True)
    )
    csm_of = dict(Customer.objects.filter(pk__in=ids.values()).values_list("pk", "csm_id"))
    milestones = []
    for p in plans:
        cid = ids[p.external_id]
        if cid in have or p.go_live_date is None or p.index % 9 != 2:
            continue
        day = p.go_live_date + dt.timedelta(days=ctx.rng_for("milestone", p.index).randint(5, 40))
        if day <= ctx.today:
            milestones.append(
                ValueMilestone(
                    customer_id=cid, achieved_on=day, author_id=csm_of.get(cid), note="First report live"
                )
            )
    ValueMilestone.objects.bulk_create(milestones)


def seed(ctx: DemoContext) -> None:
    started = time.monotonic()
    for name, description in KEY_FEATURES.items():
        KeyFeature.objects.get_or_create(name=name, defaults={"description": description})
    ids = dict(ctx.demo_customers().values_list("external_id", "pk"))
    plans = [p for p in plan_customers(ctx, ctx.customers) if p.external_id in ids]
    ledgers = _seed_mrr(ctx, plans, ids)
    _seed_renewals(ctx, plans, ids, ledgers)
    _seed_usage(ctx, plans, ids)
    _seed_tickets(ctx, plans, ids)
    _seed_milestones(ctx, plans, ids)
    # What the 15-minute job does on a running install: the stored first 10 % utilization days.
    refreshed = first_utilization_refresh()
    ctx.log(f"metrics: {refreshed} first-utilization days stored; done in {time.monotonic() - started:.1f}s")

    from .health import demo as health_demo

    health_demo.seed(ctx)
