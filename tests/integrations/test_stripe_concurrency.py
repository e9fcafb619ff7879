"""Concurrent Stripe deliveries on PostgreSQL (docs/integrations.md#the-webhook): events about one customer
are applied one after the other, so simultaneous deliveries never collide (no 500) and the ledger is exact."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from tests.requirements import require_postgres

from . import stripe_fixtures as fx
from .test_stripe import URL, ledger

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = fx.SECRET
    settings.CSHUB_CURRENCY = "usd"


def test_created_and_updated_delivered_at_once_both_succeed():
    require_postgres()
    created = fx.event("evt_c", "customer.subscription.created", fx.BY_ID["sub_cancel"], "2025-01-10")
    updated = fx.event("evt_u", "customer.subscription.updated", fx.CANCEL_REQUESTED, "2025-03-01")
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def deliver(event: dict) -> None:
        body = json.dumps(event).encode()
        try:
            barrier.wait(5)
            response = Client().post(
                URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=fx.signed(body)
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(e,)) for e in (created, updated)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200, 200]
    assert ledger() == {"cus_cancel": fx.LEDGERS["cus_cancel"]}
