"""Sending a message out and retrying it (docs/integrations.md#retries), for outbound webhooks and Slack.

A delivery row (integrations.models.OutboundDelivery) is written in the transaction of the event that causes
it, and its first attempt is queued through the outbox (core.enqueue.delay_on_commit), so a broker that is
down delays the message but never loses it. An attempt that fails (no answer, or a status outside 2xx) moves
`next_attempt_at` along BACKOFF; the every-minute sweep (integrations.tasks.outbound_retry_due) queues the
rows that are due. After 24 h (`retry_until`) the row gives up; an admin can resend it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import requests
from django.db import transaction
from django.utils import timezone

from .models import DeliveryState, OutboundDelivery

# Waits after the 1st, 2nd, … failed attempt (the Standard Webhooks spec's suggested schedule), the last one
# repeated until RETRY_FOR has passed; the final attempt is made at the deadline itself.
BACKOFF = [
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
]
RETRY_FOR = dt.timedelta(hours=24)
# A receiver gets this long to answer; a worker is never held longer by one message.
TIMEOUT_SECONDS = 10
LOG_KEPT = 20
USER_AGENT = "cshub-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (refused, timed out)
    error: str
    ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def http_post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once, without following redirects (a redirect is a misconfigured endpoint: it fails visibly)."""
    began = time.monotonic()
    try:
        response = requests.post(
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500], round(1000 * (time.monotonic() - began)))
    ms = round(1000 * (time.monotonic() - began))
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}: {response.text[:300]}"
    return Answer(response.status_code, error, ms)


def next_attempt(*, attempts: int, now: dt.datetime, retry_until: dt.datetime) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts; None once the deadline has been tried."""
    if now >= retry_until:
        return None
    wait = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return min(now + wait, retry_until)


def claim(model: type[OutboundDelivery], pk: int, *, now: dt.datetime, force: bool = False):
    """The pending row `pk` if it is due (or `force`), locked for this attempt (SKIP LOCKED: a duplicate task
    for the same row, queued by the outbox and the sweep, finds it taken and does nothing). Call inside a
    transaction; None when there is nothing to do."""
    rows = model.objects.select_for_update(skip_locked=True).filter(pk=pk, state=DeliveryState.PENDING)
    if not force:
        rows = rows.filter(next_attempt_at__lte=now)
    return rows.first()


def attempt_record(row: OutboundDelivery, answer: Answer, *, now: dt.datetime) -> None:
    """Save what the attempt got: delivered, another try later, or given up."""
    row.attempts += 1
    row.last_attempt_at = now
    row.last_status = answer.status
    row.last_error = answer.error
    row.log = [
        *row.log[-(LOG_KEPT - 1) :],
        {"at": now.isoformat(), "status": answer.status, "error": answer.error[:300], "ms": answer.ms},
    ]
    if answer.ok:
        row.state, row.delivered_at = DeliveryState.DELIVERED, now
    else:
        later = next_attempt(attempts=row.attempts, now=now, retry_until=row.retry_until)
        if later is None:
            row.state = DeliveryState.FAILED
        else:
            row.next_attempt_at = later
    row.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "last_status",
            "last_error",
            "log",
            "state",
            "delivered_at",
            "next_attempt_at",
        ]
    )


def due_ids(
    model: type[OutboundDelivery], *, now: dt.datetime, limit: int = 500, **only: object
) -> list[int]:
    """Pending rows whose next attempt is due (and that match `only`), oldest first (the partial index on
    next_attempt_at)."""
    return list(
        model.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, **only)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def resend(row: OutboundDelivery, *, now: dt.datetime | None = None) -> None:
    """Pending again from now, with a new 24 h window; the attempt log is kept."""
    now = now or timezone.now()
    with transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(
            state=DeliveryState.PENDING, next_attempt_at=now, retry_until=now + RETRY_FOR
        )
