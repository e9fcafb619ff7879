"""Outbound webhooks (docs/integrations.md#outbound-webhooks): endpoints, deliveries, retries, resend.

A subscribed core.events event becomes one WebhookDelivery per active endpoint that picked it, in the event's
transaction; the delivery is sent after commit through the outbox and retried by integrations.outbound.
Each attempt is signed afresh per the Standard Webhooks spec (webhook-id, webhook-timestamp,
webhook-signature) with the maintained `standardwebhooks` library: receivers refuse timestamps older than
5 minutes, so a retry a day later carries a new timestamp and signature but the same webhook-id.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts import audit
from accounts.models import User
from accounts.visibility import can_manage_integrations

from .. import activity, outbound
from ..enqueue import webhook_deliver_on_commit
from ..event_data import event_data
from ..models import WebhookDelivery, WebhookEndpoint

CONNECTOR = "webhooks"
WEBHOOK_EVENTS = (
    "health.band_changed",
    "playbook_run.started",
    "task.completed",
    "survey.answered",
    "customer.churned",
)
AUDITED = ["url", "description", "events", "is_active"]  # never the secret


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: whsec_ + base64 of 24 random bytes (192 bits)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check(user: User) -> None:
    if not can_manage_integrations(user):
        raise PermissionDenied("Only admins may manage integrations and outbound webhooks.")


def _clean_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise ValidationError({"events": f"Unknown events: {', '.join(unknown)}."})
    if not events:
        raise ValidationError({"events": "Pick at least one event."})
    return [e for e in WEBHOOK_EVENTS if e in events]


def webhook_endpoint_create(
    *, user: User, url: str, events: Sequence[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint with a new signing secret (shown once, to the admin who created it)."""
    _check(user)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url,
            events=_clean_events(events),
            description=description.strip(),
            secret=new_secret(),
            created_by=user,
        )
        audit.record_create(actor=user, obj=endpoint, fields=AUDITED)
    return endpoint


def webhook_endpoint_update(
    *,
    user: User,
    endpoint: WebhookEndpoint,
    url: str,
    events: Sequence[str],
    description: str,
    is_active: bool,
) -> WebhookEndpoint:
    _check(user)
    with transaction.atomic():
        before = audit.snapshot(endpoint, AUDITED)
        endpoint.url, endpoint.events = url, _clean_events(events)
        endpoint.description, endpoint.is_active = description.strip(), is_active
        endpoint.save(update_fields=AUDITED)
        audit.record_update(actor=user, obj=endpoint, before=before)
    return endpoint


def webhook_endpoint_delete(*, user: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log."""
    _check(user)
    with transaction.atomic():
        audit.record_delete(actor=user, obj=endpoint, fields=AUDITED)
        endpoint.delete()


def webhook_endpoint_rotate_secret(*, user: User, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, effective for the next attempt; returns it (shown once)."""
    _check(user)
    with transaction.atomic():
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret"])
        audit.record(
            actor=user, action="update", obj=endpoint, changes={"secret": {"before": "…", "after": "…"}}
        )
    return endpoint.secret


def webhook_events_received(*, event: str, payloads: Sequence[dict[str, Any]]) -> int:
    """core.events batch subscriber: one delivery per occurrence and active endpoint that picked `event`, in
    the event's transaction; returns how many. One query when no endpoint wants the event."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if event in e.events]
    if not endpoints:
        return 0
    now = timezone.now()
    rows = []
    for payload in payloads:
        body = {"type": event, "timestamp": now.isoformat(), "data": event_data(event, payload)}
        rows += [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                msg_id=f"msg_{secrets.token_urlsafe(18)}",
                payload=body,
                created_at=now,
                next_attempt_at=now,
                retry_until=now + outbound.RETRY_FOR,
            )
            for endpoint in endpoints
        ]
    deliveries = WebhookDelivery.objects.bulk_create(rows, batch_size=500)
    for delivery in deliveries:
        webhook_deliver_on_commit(delivery_id=delivery.pk)
    return len(deliveries)


def signed_headers(*, secret: str, msg_id: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def webhook_delivery_send(*, delivery_id: int, force: bool = False, now: dt.datetime | None = None) -> str:
    """One attempt of a pending delivery that is due (any pending one with `force`); returns its state.
    Safe to run twice: the row is claimed SKIP LOCKED and re-checked (integrations.outbound.claim)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = outbound.claim(WebhookDelivery, delivery_id, now=now, force=force)
        if delivery is None:
            return "skipped"
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            return "skipped"  # paused: the sweep leaves it; resumed within 24 h it goes out
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = signed_headers(secret=endpoint.secret, msg_id=delivery.msg_id, body=body, now=now)
        answer = outbound.http_post(endpoint.url, body=body, headers=headers)
        outbound.attempt_record(delivery, answer, now=now)
        if answer.ok:
            activity.record_received(CONNECTOR, kind=delivery.event)
        else:
            activity.record_error(
                CONNECTOR,
                f"{endpoint.url}: {answer.error}",
                kind=delivery.event,
                payload={
                    "webhook-id": delivery.msg_id,
                    "attempt": delivery.attempts,
                    "body": delivery.payload,
                },
            )
    return delivery.state


def webhook_deliveries_retry_due(*, now: dt.datetime | None = None) -> int:
    """The sweep: queue (through the outbox) every pending delivery whose next attempt is due."""
    now = now or timezone.now()
    with transaction.atomic():
        # A paused endpoint's deliveries wait (sent if it is resumed within their 24 h).
        ids = outbound.due_ids(WebhookDelivery, now=now, endpoint__is_active=True)
        for pk in ids:
            webhook_deliver_on_commit(delivery_id=pk)
    return len(ids)


def webhook_delivery_resend(*, user: User, delivery: WebhookDelivery) -> None:
    """The log's "resend" button: the same message (same webhook-id) again now, with 24 h of retries."""
    _check(user)
    with transaction.atomic():
        outbound.resend(delivery)
        webhook_deliver_on_commit(delivery_id=delivery.pk)
