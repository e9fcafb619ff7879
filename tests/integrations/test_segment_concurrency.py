"""Identical tracking batches at once on PostgreSQL (docs/operations.md#failure-rules): all succeed, and
everything is written once."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Contact, Customer
from integrations.models import SegmentPending
from integrations.segment.keys import write_key_get_or_create
from metrics.models import UsageDaily, UsageEvent
from tests.requirements import require_postgres

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_identical_concurrent_batches_all_succeed_and_write_once():
    require_postgres()
    key = write_key_get_or_create()
    now = "2026-01-01T10:00:00Z"
    batch = [
        {"type": "group", "userId": "u1", "groupId": "RACE-1", "traits": {"name": "Race Co", "seats": 5}},
        {"type": "identify", "userId": "u1", "traits": {"email": "ann@race.test"}},
        *[
            {
                "type": "track",
                "messageId": f"r{i}",
                "userId": f"u{i % 3}",
                "event": "Run",
                "timestamp": now,
                "context": {"groupId": "RACE-1"},
            }
            for i in range(50)
        ],
    ]
    body = json.dumps({"batch": batch}).encode()
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def post() -> None:
        try:
            barrier.wait(5)
            response = Client().post(
                "/v1/batch", data=body, content_type="application/json", HTTP_AUTHORIZATION=auth
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200, 200, 200]
    assert Customer.objects.filter(external_id="RACE-1").count() == 1
    assert Contact.objects.filter(email="ann@race.test").count() == 1
    assert UsageEvent.objects.count() == 50
    assert sum(UsageDaily.objects.values_list("events", flat=True)) == 50
    assert not SegmentPending.objects.exists()
