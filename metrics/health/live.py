"""The live recompute (docs/health.md#live-data): today's health of the dirty customers, then their triggers.

Writes mark customers dirty in their own transaction (accounts.dirty). This job, queued a few seconds after a
burst of writes and swept every minute by beat, claims the dirty customers in batches, recomputes today's
snapshot of each batch through the nightly chunk's code (services.health_customers_recompute: same reads,
scoring, hysteresis and writes), calls the CSHUB_AFTER_LIVE_RECOMPUTE hooks (playbooks' trigger evaluation
for those customers) and clears the marks it saw. A batch that fails is released for the next pass.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.dirty import (
    customers_claim_dirty,
    customers_clear_dirty,
    customers_mark_dirty,
    customers_release_dirty,
    dirty_count,
    kick,
    kick_taken,
    live_pace_record,
)
from accounts.models import Customer, User
from accounts.visibility import can_manage_customer, is_admin

from .factors.relative_usage import live_ranks
from .services import CHUNK_SIZE, health_customers_recompute, health_model_current

log = logging.getLogger(__name__)

# A pass stops claiming new batches after this long and queues its continuation (a model change marks every
# customer: 100,000 customers are 20 batches), so no task nears Celery's time limits.
PASS_SECONDS = 240


@dataclass
class LivePass:
    customers: int = 0
    batches: int = 0
    seconds: float = 0.0
    more: bool = False  # stopped on time with customers still dirty


def health_live_recompute(
    *, day: dt.date | None = None, batch_size: int = CHUNK_SIZE, pass_seconds: float = PASS_SECONDS
) -> LivePass:
    """Recompute the dirty customers' health for `day` (today) batch by batch, each followed by the
    after-live-recompute hooks; returns what was done. Safe to run twice at once: batches are claimed.

    It goes on to a next batch only after a full one (a backlog: a new model version, an import). Marks made
    while a batch computes wait for the task their first write queued, a debounce later: a steady stream of
    writes is recomputed in batches of a few seconds' writes, not one customer at a time, whose fixed cost
    (~40 queries) would dominate. A customer of the batch itself written to meanwhile is left dirty and
    queues a task of its own (its write's task may have found it leased), so no write waits for the sweep."""
    began = time.monotonic()
    kick_taken()
    day = day or timezone.localdate()
    model = health_model_current()  # with its factors: read once for the pass, not again per batch
    result = LivePass()
    while True:
        claimed = customers_claim_dirty(limit=batch_size)
        if not claimed:
            break
        ids = [cid for cid, _ in claimed]
        try:
            with live_ranks(day, ids):  # relative usage: the batch's usage now against the hour's anchor
                health_customers_recompute(day=day, model_id=model.pk, customer_ids=ids, model=model)
            health_live_recompute_finished(day=day, customer_ids=ids)
        except Exception:
            customers_release_dirty(customer_ids=ids)
            raise
        if customers_clear_dirty(claimed=claimed) < len(claimed):
            # Written to while this batch computed: those customers stay dirty, free again. The task their
            # write queued may have started already and found them leased to this pass, so queue one for them.
            kick()
        result.customers += len(ids)
        result.batches += 1
        if len(ids) < batch_size:
            break
        if time.monotonic() - began > pass_seconds:
            result.more = True
            break
    result.seconds = time.monotonic() - began
    live_pace_record(customers=result.customers)  # a busy stream's next batches wait a little longer
    if result.customers:
        log.info(
            "Live health recompute: %s customers in %s batches, %.2fs",
            result.customers,
            result.batches,
            result.seconds,
        )
    return result


def health_live_recompute_finished(*, day: dt.date, customer_ids: list[int]) -> None:
    """Each dotted path of settings.CSHUB_AFTER_LIVE_RECOMPUTE, called with day= and customer_ids= (playbooks'
    evaluation of the triggers that read today's health, for these customers only)."""
    for path in getattr(settings, "CSHUB_AFTER_LIVE_RECOMPUTE", []):
        import_string(path)(day=day, customer_ids=customer_ids)


# --- Recompute now (docs/health.md#recompute-now) ---------------------------------------------------------


@dataclass(frozen=True)
class RecomputeProgress:
    pending: int  # customers still waiting for the live recompute
    total: int  # customers

    @property
    def done(self) -> bool:
        return self.pending == 0

    @property
    def percent(self) -> int:
        return (
            100 if not self.total else round(100 * (self.total - min(self.pending, self.total)) / self.total)
        )


def health_recompute_now(*, user: User, customer: Customer | None = None) -> None:
    """Recompute one customer's health for today now (managers of its team, admins), or everyone's (admins):
    the customers are marked dirty, and the live recompute (a background job) does the rest; the page
    follows it with `recompute_progress`."""
    if customer is None:
        if not is_admin(user):
            raise PermissionDenied("Only admins may recompute every customer's health.")
    elif not can_manage_customer(user, customer):
        raise PermissionDenied("Only managers of this customer's team and admins may recompute its health.")
    with transaction.atomic():
        customers_mark_dirty(customer_ids=None if customer is None else [customer.pk])


def recompute_progress() -> RecomputeProgress:
    """How far the live recompute is: customers still dirty, of all customers (two counts)."""
    return RecomputeProgress(pending=dirty_count(), total=Customer.objects.count())
