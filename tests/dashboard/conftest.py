"""Team data for the dashboard tests: books with a ledger, renewals, usage, touchpoints, pulses and tasks."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer, Pulse, Role, Touchpoint, TouchpointKind, User
from metrics.models import MrrEntry, Renewal, UsageDaily, UsageUserDay, ValueMilestone
from metrics.services import mrr_ledger_relink
from playbooks.models import Playbook, Run, Task, TaskStatus
from tests.factories import TeamFactory, UserFactory

# A past quarter, so every figure is as of its end whatever day the tests run.
Q_START = dt.date(2025, 4, 1)
Q_END = dt.date(2025, 6, 30)


def _aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def build_book(csm: User | None, n: int, *, seed: int, prefix: str) -> list[Customer]:
    """`n` customers of `csm` with varied, deterministic activity around Q2 2025."""
    rng = random.Random(seed)
    customers = Customer.objects.bulk_create(
        Customer(
            external_id=f"{prefix}-{i:04d}",
            name=f"{prefix} customer {i}",
            segment=rng.choice(["SMB", "Mid-Market", "Enterprise"]),
            csm=csm,
            licenses=rng.choice([0, 10, 20, 50]),
            # Some start inside the quarter (time to value, days to onboard), most before it.
            contract_start=rng.choice([dt.date(2024, 3, 1), dt.date(2025, 4, 10), dt.date(2025, 5, 20)]),
            go_live_date=rng.choice([None, dt.date(2025, 6, 1), dt.date(2025, 6, 15)]),
            renewal_date=dt.date(2026, 5, 1),
        )
        for i in range(n)
    )
    ledger, renewals, usage, touchpoints, pulses, milestones = [], [], [], [], [], []
    for c in customers:
        mrr = rng.choice([0, 100, 250, 1000])
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 60))
        for _ in range(rng.randint(1, 4)):
            ledger.append(MrrEntry(customer=c, effective_date=day, mrr=Decimal(mrr) + Decimal("0.50")))
            day += dt.timedelta(days=rng.randint(20, 70))
            mrr = rng.choice([0, mrr, mrr + 50, max(mrr - 50, 0), 400])
        if rng.random() < 0.7:
            outcome = rng.choice(["renewed", "renewed", "churned", "pending"])
            renewed = (
                None if outcome != "renewed" or rng.random() < 0.3 else Decimal(rng.choice([900, 1200, 1500]))
            )
            renewals.append(
                Renewal(
                    customer=c,
                    due_date=Q_START + dt.timedelta(days=rng.randint(0, 89)),
                    arr_due=Decimal(1200),
                    outcome=outcome,
                    renewed_arr=renewed,
                )
            )
        if c.contract_start >= Q_START and c.licenses:
            for u in range(rng.randint(0, 6)):
                first = c.contract_start + dt.timedelta(days=rng.randint(-10, 40))
                for k in range(rng.randint(1, 3)):
                    usage.append(
                        UsageDaily(
                            customer=c,
                            user_id=f"u{u}",
                            feature="reports",
                            day=first + dt.timedelta(days=k * rng.randint(1, 35)),
                            events=1,
                            quantity=1,
                        )
                    )
            if rng.random() < 0.3:
                milestones.append(
                    ValueMilestone(customer=c, achieved_on=c.contract_start + dt.timedelta(days=9))
                )
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice([TouchpointKind.CALL, TouchpointKind.EMAIL, TouchpointKind.ADVOCACY])
            touchpoints.append(
                Touchpoint(
                    customer=c,
                    author=csm,
                    kind=kind,
                    summary="Talked.",
                    occurred_at=_aware(Q_START + dt.timedelta(days=rng.randint(-20, 100))),
                )
            )
        if rng.random() < 0.6:
            pulses.append(
                Pulse(
                    customer=c,
                    author=csm,
                    score=rng.randint(1, 5),
                    created_at=_aware(Q_END - dt.timedelta(days=rng.randint(0, 60))),
                )
            )
    MrrEntry.objects.bulk_create(ledger)
    mrr_ledger_relink(customer_ids=[c.pk for c in customers])
    Renewal.objects.bulk_create(renewals)
    UsageDaily.objects.bulk_create(usage, ignore_conflicts=True)
    UsageUserDay.objects.bulk_create(
        [UsageUserDay(customer=u.customer, day=u.day, user_id=u.user_id, events=1) for u in usage],
        ignore_conflicts=True,
    )
    Touchpoint.objects.bulk_create(touchpoints)
    Pulse.objects.bulk_create(pulses)
    ValueMilestone.objects.bulk_create(milestones)
    if csm is not None:
        _tasks(csm, customers, rng)
    return customers


def _tasks(csm: User, customers: list[Customer], rng: random.Random) -> None:
    playbook, _ = Playbook.objects.get_or_create(name="Dashboard test playbook")
    for c in customers[:3]:
        run = Run.objects.create(playbook=playbook, customer=c, assignee=csm, reason="test")
        for k in range(3):
            due = Q_START + dt.timedelta(days=rng.randint(0, 89))
            status = rng.choice([TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.DONE, TaskStatus.SKIPPED])
            done_at = (
                _aware(due + dt.timedelta(days=rng.choice([-2, 0, 3]))) if status == TaskStatus.DONE else None
            )
            Task.objects.create(
                run=run,
                order=k,
                title=f"Step {k}",
                assignee=csm,
                due_date=due,
                status=status,
                completed_at=done_at,
            )


def make_csm(email: str, manager: User) -> User:
    user = UserFactory(email=email, full_name=email.split("@")[0].title(), role=Role.CSM)
    TeamFactory(name=f"Team of {email}", manager=manager).members.add(user)
    return user


@pytest.fixture
def team(csm, other_csm, manager):
    """csm and a second CSM in manager's teams, other_csm in other_manager's; 8 customers each."""
    second = make_csm("second.csm@example.com", manager)
    books = {
        csm: build_book(csm, 8, seed=1, prefix="A"),
        second: build_book(second, 8, seed=2, prefix="B"),
        other_csm: build_book(other_csm, 8, seed=3, prefix="C"),
    }
    return books
