"""Outbound webhooks with a real broker and worker (docs/integrations.md#retries): with Redis down, the change
that causes an event still commits at once and its delivery waits in the outbox; when Redis is back, the
sweeper publishes it and a real Celery worker delivers it, signed, to the receiver."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import Role
from core.models import OutboxMessage
from core.tasks import outbox_flush
from integrations.models import DeliveryState, WebhookDelivery
from integrations.webhooks.services import webhook_endpoint_create
from tests.factories import CustomerFactory, TeamFactory, UserFactory
from tests.faults.conftest import celery_app, redis_server, wait_for, worker  # noqa: F401 - fixtures
from tests.playbooks.conftest import make_playbook

from .receiver import Receiver

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_delivery_waits_in_the_outbox_while_the_broker_is_down_then_a_worker_delivers_it(
    celery_app,  # noqa: F811
    redis_server,  # noqa: F811
):
    admin = UserFactory(email="root@example.com", role=Role.ADMIN)
    manager = UserFactory(email="lead@example.com", role=Role.MANAGER)
    csm = UserFactory(email="kim@example.com", role=Role.CSM)
    TeamFactory(manager=manager).members.add(csm)
    CustomerFactory(external_id="W-1", csm=csm)
    playbook, _ = make_playbook("Rescue")
    receiver = Receiver().start()
    try:
        endpoint = webhook_endpoint_create(
            user=admin, url=f"{receiver.url}/in", events=["playbook_run.started"]
        )
        client = Client()
        client.force_login(manager)

        redis_server.stop()
        started = time.monotonic()
        response = client.post(
            "/api/v1/playbook-runs/",
            {"playbook": playbook.pk, "customer": "W-1"},
            content_type="application/json",
        )
        assert response.status_code == 201
        assert time.monotonic() - started < 3
        delivery = WebhookDelivery.objects.get()
        assert delivery.state == DeliveryState.PENDING
        assert delivery.attempts == 0
        assert "integrations.tasks.webhook_deliver" in OutboxMessage.objects.values_list("task", flat=True)

        redis_server.start()
        OutboxMessage.objects.update(created_at=timezone.now() - dt.timedelta(minutes=1))  # past the grace
        outbox_flush.delay()
        with worker(celery_app):
            wait_for(lambda: receiver.received, what="the delivery at the receiver")
            wait_for(
                lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists(),
                what="the delivery recorded as delivered",
            )
    finally:
        receiver.stop()
    got = receiver.received[0]
    body = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert body["type"] == "playbook_run.started"
    assert body["data"]["run"]["playbook"] == "Rescue"
    assert body["data"]["customer"]["external_id"] == "W-1"
    assert got.headers["webhook-id"] == delivery.msg_id
