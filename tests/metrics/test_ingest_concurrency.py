"""Concurrent usage-event posts with overlapping events never double count (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from metrics.models import UsageDaily, UsageEvent, UsageUserDay
from metrics.services import usage_events_ingest
from tests.concurrency import waits_while_held
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


def test_a_first_utilization_refresh_waits_for_an_ingest_in_flight_and_sees_its_usage():
    """The ingest's day (40) is after the stored answer (30), so it does not bump the version; but the
    customer's licenses changed (k 1 → 2), so the refresh recomputes. Without the row lock it would read
    usage without the uncommitted day 40 and store "never" as current."""
    require_postgres()
    from metrics.engagement import first_utilization_day
    from metrics.models import FirstUtilizationDay
    from metrics.services import first_utilization_refresh

    start = dt.date(2025, 4, 1)
    customer = CustomerFactory(licenses=10, contract_start=start)

    def event(user: str, day: int) -> dict:
        at = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(12), tzinfo=dt.UTC)
        return {
            "event_id": f"fu-{user}-{day}",
            "customer": customer.external_id,
            "user_id": user,
            "feature": "reports",
            "occurred_at": at,
            "quantity": 1,
        }

    usage_events_ingest(rows=[event("a", 30)])
    first_utilization_refresh()
    assert FirstUtilizationDay.objects.get(customer=customer).day == start + dt.timedelta(days=30)
    type(customer).objects.filter(pk=customer.pk).update(licenses=20)

    waited = waits_while_held(lambda: usage_events_ingest(rows=[event("b", 40)]), first_utilization_refresh)
    assert waited, "the refresh must wait for the ingest holding the row"
    customer.refresh_from_db()
    stored = FirstUtilizationDay.objects.get(customer=customer)
    # a is active on days 30..59, b from day 40: two of 20 licenses on day 40.
    assert stored.day == start + dt.timedelta(days=40)
    assert stored.day == first_utilization_day(customer=customer, as_of=dt.date(2100, 1, 1))
    assert (stored.computed_version, stored.licenses) == (stored.version, 20)
