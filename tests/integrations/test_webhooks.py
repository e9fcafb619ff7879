"""Outbound webhooks (docs/integrations.md#outbound-webhooks): signed per the Standard Webhooks spec and
verified by a local receiver with the library's own verifier, retried with backoff for 24 h through the
outbox, resent from the log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.models import OutboxMessage
from cshub.celery import app
from integrations.models import ConnectorActivity, DeliveryState, WebhookDelivery
from integrations.webhooks.services import (
    webhook_deliveries_retry_due,
    webhook_delivery_resend,
    webhook_delivery_send,
    webhook_endpoint_create,
    webhook_endpoint_update,
)
from playbooks.services.work import task_complete
from tests.factories import TaskFactory

from .receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def complete_a_task(csm, customer, capture):
    task = TaskFactory(run__customer=customer, run__assignee=csm, assignee=csm, title="Call the sponsor")
    with capture(execute=True):
        task_complete(user=csm, task=task)
    return task


def test_a_delivery_is_signed_and_the_receiver_verifies_it(
    admin_user, csm, customer, receiver, django_capture_on_commit_callbacks, settings
):
    endpoint = webhook_endpoint_create(user=admin_user, url=f"{receiver.url}/hook", events=["task.completed"])
    task = complete_a_task(csm, customer, django_capture_on_commit_callbacks)

    assert len(receiver.received) == 1
    got = receiver.received[0]
    body = Webhook(endpoint.secret).verify(got.body, got.headers)  # raises on a bad signature
    assert body["type"] == "task.completed"
    assert body["data"]["customer"] == {
        "external_id": "NW-1",
        "name": "Northwind Traders",
        "csm_email": csm.email,
        "url": f"{settings.SITE_URL}/customers/NW-1/",
    }
    assert body["data"]["task"]["id"] == task.pk
    assert body["data"]["task"]["completed_by_email"] == csm.email
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(got.body, got.headers)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.last_status, delivery.attempts) == (DeliveryState.DELIVERED, 200, 1)
    assert got.headers["webhook-id"] == delivery.msg_id
    assert (
        ConnectorActivity.objects.filter(connector="webhooks", kind="task.completed", error="").count() == 1
    )


def test_only_active_endpoints_that_picked_the_event_get_it(
    admin_user, csm, customer, receiver, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(user=admin_user, url=f"{receiver.url}/churn", events=["customer.churned"])
    paused = webhook_endpoint_create(user=admin_user, url=f"{receiver.url}/paused", events=["task.completed"])
    webhook_endpoint_update(
        user=admin_user,
        endpoint=paused,
        url=paused.url,
        events=paused.events,
        description="",
        is_active=False,
    )
    complete_a_task(csm, customer, django_capture_on_commit_callbacks)
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_that_is_down_gets_the_delivery_when_it_comes_back(
    admin_user, csm, customer, django_capture_on_commit_callbacks
):
    down = Receiver()  # not started: connections are refused
    endpoint = webhook_endpoint_create(user=admin_user, url=f"{down.url}/hook", events=["task.completed"])
    complete_a_task(csm, customer, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.PENDING, 1, None)
    assert "ConnectionError" in delivery.last_error
    error = ConnectorActivity.objects.get(connector="webhooks")
    assert error.error
    assert error.payload["webhook-id"] == delivery.msg_id

    down.start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_deliveries_retry_due() == 0  # not due yet (5 s backoff)
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=6)):
            with django_capture_on_commit_callbacks(execute=True):
                assert webhook_deliveries_retry_due() == 1
            got = down.received[0]
            Webhook(endpoint.secret).verify(got.body, got.headers)  # a fresh timestamp, the same id
    finally:
        down.stop()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.DELIVERED, 2, 200)
    assert got.headers["webhook-id"] == delivery.msg_id
    assert [entry["status"] for entry in delivery.log] == [None, 200]


def test_failures_back_off_for_24_hours_then_give_up_and_resend_delivers(
    admin_user, csm, customer, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    webhook_endpoint_create(user=admin_user, url=f"{receiver.url}/hook", events=["task.completed"])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        complete_a_task(csm, customer, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    waits = []
    now = start
    while delivery.state == DeliveryState.PENDING:
        waits.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
        assert webhook_delivery_send(delivery_id=delivery.pk, now=now - dt.timedelta(seconds=1)) == "skipped"
        webhook_delivery_send(delivery_id=delivery.pk, now=now)
        delivery.refresh_from_db()
    minutes = [round(w.total_seconds() / 60, 2) for w in waits]
    assert minutes[:6] == [0.08, 5, 30, 120, 300, 600]
    assert now == start + dt.timedelta(hours=24)  # the last attempt at the deadline itself
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_status == 500
    assert len(receiver.received) == delivery.attempts == len(waits) + 1  # the first, then one per wait

    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_resend(user=admin_user, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert receiver.received[-1].headers["webhook-id"] == delivery.msg_id


def test_a_delivery_sent_twice_goes_out_once(
    admin_user, csm, customer, receiver, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(user=admin_user, url=f"{receiver.url}/hook", events=["task.completed"])
    complete_a_task(csm, customer, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_send(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.received) == 1


def test_deliveries_are_queued_through_the_outbox_in_the_events_transaction(
    admin_user, csm, customer, django_capture_on_commit_callbacks, settings
):
    """With a broker (not eager), the first attempt is an outbox row written with the event."""
    webhook_endpoint_create(user=admin_user, url="http://127.0.0.1:9/hook", events=["task.completed"])
    task = TaskFactory(run__customer=customer, run__assignee=csm, assignee=csm)
    saved = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as tests/faults/conftest.py turns eager mode off
    app.conf.update(task_always_eager=False)
    try:
        with django_capture_on_commit_callbacks(execute=False):
            task_complete(user=csm, task=task)
    finally:
        app.conf.update(task_always_eager=saved)
    delivery = WebhookDelivery.objects.get()
    row = OutboxMessage.objects.get()
    assert (row.task, row.args) == ("integrations.tasks.webhook_deliver", [delivery.pk])


def test_only_admins_manage_endpoints(manager, csm, admin_user):
    for user in (manager, csm):
        with pytest.raises(PermissionDenied):
            webhook_endpoint_create(user=user, url="https://example.com/h", events=["task.completed"])
    with pytest.raises(ValidationError):
        webhook_endpoint_create(user=admin_user, url="https://example.com/h", events=["customer.exploded"])
    with pytest.raises(ValidationError):
        webhook_endpoint_create(user=admin_user, url="https://example.com/h", events=[])


def test_a_paused_endpoints_deliveries_wait_for_it(
    admin_user, csm, customer, django_capture_on_commit_callbacks
):
    endpoint = webhook_endpoint_create(
        user=admin_user, url="http://127.0.0.1:9/closed", events=["task.completed"]
    )
    complete_a_task(csm, customer, django_capture_on_commit_callbacks)  # refused: pending, retried in 5 s
    webhook_endpoint_update(
        user=admin_user,
        endpoint=endpoint,
        url=endpoint.url,
        events=endpoint.events,
        description="",
        is_active=False,
    )
    later = timezone.now() + dt.timedelta(minutes=1)
    assert webhook_deliveries_retry_due(now=later) == 0
    webhook_endpoint_update(
        user=admin_user,
        endpoint=endpoint,
        url=endpoint.url,
        events=endpoint.events,
        description="",
        is_active=True,
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert webhook_deliveries_retry_due(now=later) == 1
