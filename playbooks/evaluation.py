"""Trigger evaluation (docs/playbooks.md): find the customers each enabled trigger matches and start its
playbook.

Entry points: `manage.py evaluate_triggers`, the Celery beat job every 5 minutes (fast signals: new survey
answers, new customers) and the hook after the nightly health recompute (every condition, for that day).

Each condition module computes its matches for all customers in SQL, restricted to the customers the trigger
may start a run for (`_eligible`: not churned on the evaluated day — docs/health.md#who-is-scored, by the
ledger or the lifecycle stage, for every condition — no open run of the playbook, not within the cooldown
after a run of it closed). Runs are inserted with ON CONFLICT DO NOTHING against the one-open-run index, so
running the evaluation twice, or twice at once, starts each run once. Every sweep then reconciles assignees
with the customers' current CSMs and completes tasks whose required touchpoint has been logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Customer
from metrics.churn import churned_on

from . import triggers
from .models import Run, RunStatus, Trigger
from .services import NewRun, notifications_gathered, runs_create, runs_reconcile, tasks_autocomplete

logger = logging.getLogger(__name__)

SPEEDS = ("fast", "nightly", "all")


@dataclass
class EvaluationResult:
    started: dict[str, int] = field(default_factory=dict)  # "playbook: condition" → runs started
    matched: int = 0
    reassigned: int = 0
    autocompleted: int = 0
    seconds: float = 0.0

    @property
    def total_started(self) -> int:
        return sum(self.started.values())


def _eligible(
    trigger: Trigger, now: dt.datetime, today: dt.date, customer_ids: Sequence[int] | None = None
) -> QuerySet:
    """Customer ids this trigger may start its playbook for (a subquery, evaluated inside the match query):
    not churned on `today`, the evaluated day (docs/health.md#who-is-scored: a customer gone by the ledger or
    the lifecycle stage gets no run of any trigger, the red-health rescue included), and not blocked by an
    open run or the cooldown."""
    runs = Run.objects.filter(playbook_id=trigger.playbook_id, customer_id=OuterRef("pk"))
    blocked = runs.filter(
        Q(status=RunStatus.OPEN)
        | Q(
            closed_at__gte=now - dt.timedelta(days=trigger.cooldown_days),
            status__in=[RunStatus.DONE, RunStatus.CANCELLED],
        )
    )
    customers = (
        Customer.objects.all() if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    )
    return customers.exclude(churned_on(today)).filter(~Exists(blocked)).values("pk")


def trigger_evaluate(
    trigger: Trigger,
    *,
    today: dt.date,
    now: dt.datetime,
    notify: bool = True,
    customer_ids: Sequence[int] | None = None,
) -> tuple[int, int]:
    """Evaluate one trigger: (customers matched, runs started). With `customer_ids`, for those customers
    only (the live evaluation): the trigger's cursor and last evaluation stay as they are, since the other
    customers' answers were not looked at."""
    module = triggers.module_for(trigger.condition)
    params = module.clean(trigger.params or {})
    upto = module.cursor_upto() if hasattr(module, "cursor_upto") else None
    ctx = triggers.Context(
        trigger=trigger,
        params=params,
        today=today,
        now=now,
        eligible=_eligible(trigger, now, today, customer_ids),
        upto=upto,
    )
    rows = [
        NewRun(m.customer_id, module.reason(params, m.values), _values(trigger, params, m), m.key)
        for m in module.matches(ctx)
    ]
    started = runs_create(playbook=trigger.playbook, rows=rows, trigger=trigger, now=now, notify=notify)
    if customer_ids is not None:
        return len(rows), len(started)
    updates: dict = {"last_evaluated_at": now}
    Trigger.objects.filter(pk=trigger.pk).update(**updates)
    if upto is not None:
        # Monotonic: a slower concurrent evaluation never moves the cursor back.
        Trigger.objects.filter(pk=trigger.pk).filter(Q(cursor__isnull=True) | Q(cursor__lt=upto)).update(
            cursor=upto
        )
    return len(rows), len(started)


def _values(trigger: Trigger, params: dict, match: triggers.Match) -> dict:
    return {
        "condition": trigger.condition,
        "trigger_id": trigger.pk,
        "params": params,
        "values": match.values,
    }


def triggers_evaluate(
    *, speed: str = "all", today: dt.date | None = None, now: dt.datetime | None = None, notify: bool = True
) -> EvaluationResult:
    """Evaluate the enabled triggers of enabled playbooks ("fast" ones, "nightly" ones or "all"), then
    reconcile assignees and auto-complete touchpoint tasks."""
    if speed not in SPEEDS:
        raise ValueError(f"speed must be one of {SPEEDS}")
    started_clock = time.monotonic()
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    result = EvaluationResult()
    qs = (
        Trigger.objects.filter(enabled=True, playbook__enabled=True).select_related("playbook").order_by("pk")
    )
    if speed == "fast":
        qs = qs.filter(condition__in=triggers.FAST)
    elif speed == "nightly":
        qs = qs.exclude(condition__in=triggers.FAST)
    with notifications_gathered():  # one email per assignee for all the triggers' runs
        for trigger in qs:
            matched, started = trigger_evaluate(trigger, today=today, now=now, notify=notify)
            result.matched += matched
            label = f"{trigger.playbook.name}: {trigger.condition}"
            result.started[label] = result.started.get(label, 0) + started
    result.reassigned = runs_reconcile(now=now)
    result.autocompleted = tasks_autocomplete(now=now)
    result.seconds = time.monotonic() - started_clock
    logger.info(
        "Trigger evaluation (%s, %s): %s matched, %s runs started, %s reassigned in %.1fs",
        speed,
        today,
        result.matched,
        result.total_started,
        result.reassigned,
        result.seconds,
    )
    return result


# The conditions the live recompute evaluates for the customers it just recomputed
# (docs/playbooks.md#live-evaluation): the fast signals, and the two that read today's health snapshot, which
# the live recompute has just replaced. The others read whole days of usage or the calendar and wait for the
# nightly evaluation.
LIVE = triggers.FAST | {"band_entered", "score_drop"}


def triggers_evaluate_live(
    *, day: dt.date, customer_ids: Sequence[int], now: dt.datetime | None = None
) -> EvaluationResult:
    """settings.CSHUB_AFTER_LIVE_RECOMPUTE hook: the LIVE conditions of every enabled trigger, for
    `customer_ids` only, on `day` (today)."""
    started_clock = time.monotonic()
    now = now or timezone.now()
    result = EvaluationResult()
    qs = (
        Trigger.objects.filter(enabled=True, playbook__enabled=True, condition__in=LIVE)
        .select_related("playbook")
        .order_by("pk")
    )
    with notifications_gathered():  # one email per assignee for all the triggers' runs
        for trigger in qs:
            matched, started = trigger_evaluate(trigger, today=day, now=now, customer_ids=list(customer_ids))
            result.matched += matched
            label = f"{trigger.playbook.name}: {trigger.condition}"
            result.started[label] = result.started.get(label, 0) + started
    result.seconds = time.monotonic() - started_clock
    return result
