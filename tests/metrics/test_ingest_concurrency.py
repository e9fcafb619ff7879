"""Concurrent usage-event posts with overlapping events never double count (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from metrics.models import UsageDaily, UsageEvent, UsageUserDay
from metrics.services import usage_events_ingest
from tests.factories import CustomerFactory
from tests.requirements import require_postgres

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_overlapping_concurrent_batches_count_each_event_once():
    require_postgres()
    customer = CustomerFactory()
    day = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    events = [
        {
            "event_id": f"c-{i}",
            "customer": customer.external_id,
            "user_id": f"u{i % 7}",
            "feature": f"f{i % 3}",
            "occurred_at": day,
            "quantity": 1,
        }
        for i in range(3000)
    ]
    # Four posters, each with a different overlapping half of the events.
    batches = [events[0:1500], events[750:2250], events[1500:3000], events[0:3000:2]]
    results: list[dict] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(batches))

    def post(batch: list[dict]) -> None:
        try:
            barrier.wait()
            results.append(usage_events_ingest(rows=batch))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r["accepted"] for r in results) == 3000
    assert sum(r["duplicates"] for r in results) == sum(len(b) for b in batches) - 3000
    assert UsageEvent.objects.count() == 3000
    assert UsageDaily.objects.aggregate(n=Sum("events"))["n"] == 3000
    assert UsageUserDay.objects.aggregate(n=Sum("events"))["n"] == 3000
