"""Findings 1 and 7 of the failure rules (docs/operations.md#failure-rules): concurrent ingestion, PostgreSQL.

1. Three clients posting overlapping MRR batches for ten rounds left ledger links that no longer matched a
   fresh LAG/LEAD, and the revenue API answered 500 (LedgerIdentityError). Writes are now serialised per
   customer (customers locked in id order), so the links stay exact.
7. Four clients posting the same batch at once got one 200 and three 400s ("Conflicting concurrent write");
   now all succeed, the later ones as "unchanged".

The ledger check (stored links equal a fresh LAG/LEAD, metrics.revenue.ledger.ledger_link_mismatches) runs
after every round.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from accounts.models import Customer, Role
from metrics.models import MrrEntry, Renewal, Ticket
from metrics.revenue.ledger import ledger_link_mismatches
from tests.factories import CustomerFactory, UserFactory
from tests.requirements import require_postgres

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; each thread has its own database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


@pytest.fixture
def admin():
    require_postgres()
    return UserFactory(email="ingest@example.com", role=Role.ADMIN)


def poster(user, url: str, payload: list[dict]) -> Callable[[], tuple[int, dict]]:
    def post() -> tuple[int, dict]:
        client = Client()
        client.force_login(user)
        response = client.post(url, payload, content_type="application/json")
        return response.status_code, response.json()

    return post


def test_concurrent_overlapping_mrr_batches_keep_every_ledger_link_exact(admin):
    customers = [CustomerFactory(external_id=f"L-{i:03}") for i in range(150)]
    start = dt.date(2024, 1, 1)
    for rnd in range(10):
        # Three clients, each with its own new dates for an overlapping two thirds of the customers, so
        # every customer gets rows from two or three clients in the same round.
        batches = []
        for client_no in range(3):
            day = start + dt.timedelta(days=rnd * 3 + client_no)
            batches.append(
                [
                    {
                        "customer": c.external_id,
                        "effective_date": day.isoformat(),
                        "mrr": f"{100 + rnd + i % 7}",
                    }
                    for i, c in enumerate(customers)
                    if (i + client_no) % 3 != 0
                ]
            )
        results = at_once([poster(admin, "/api/v1/mrr/", b) for b in batches])
        assert [status for status, _ in results] == [200, 200, 200], results
        assert ledger_link_mismatches() == 0, f"round {rnd}"
    assert MrrEntry.objects.count() == 10 * 3 * 100
    client = Client()
    client.force_login(admin)
    assert client.get("/api/v1/metrics/revenue/?start=2024-01-01&end=2024-02-29").status_code == 200


def test_identical_concurrent_batches_all_succeed_the_later_ones_unchanged(admin):
    owner = UserFactory(email="owner@example.com", role=Role.CSM)
    customers = [
        {"external_id": f"I-{i:03}", "name": f"Identical {i}", "csm_email": owner.email} for i in range(200)
    ]
    status, body = poster(admin, "/api/v1/customers/", customers[:100])()  # half exist, half are new
    assert status == 200, body
    mrr = [{"customer": c["external_id"], "effective_date": "2024-03-01", "mrr": "250.00"} for c in customers]
    tickets = [
        {
            "external_id": f"T-{i}",
            "customer": c["external_id"],
            "opened_at": "2024-03-02T10:00:00Z",
            "priority": "high",
        }
        for i, c in enumerate(customers)
    ]
    renewals = [
        {"customer": c["external_id"], "due_date": "2025-03-01", "arr_due": "3000.00", "outcome": "pending"}
        for c in customers
    ]
    for url, payload in [
        ("/api/v1/customers/", customers),
        ("/api/v1/mrr/", mrr),
        ("/api/v1/tickets/", tickets),
        ("/api/v1/renewals/", renewals),
    ]:
        results = at_once([poster(admin, url, payload) for _ in range(4)])
        assert [status for status, _ in results] == [200] * 4, (url, results)
        written = sum(body["created"] + body["updated"] for _, body in results)
        unchanged = sum(body["unchanged"] for _, body in results)
        expected_writes = 100 if url == "/api/v1/customers/" else 200  # the first 100 customers exist
        assert (written, unchanged) == (expected_writes, 4 * 200 - expected_writes), (url, results)
        assert ledger_link_mismatches() == 0
    assert Customer.objects.count() == 200
    assert (MrrEntry.objects.count(), Ticket.objects.count(), Renewal.objects.count()) == (200, 200, 200)


def test_a_batch_that_cannot_get_its_customers_in_time_is_a_503_with_retry_after(admin, monkeypatch):
    from core import api

    monkeypatch.setattr(api, "INGEST_LOCK_TIMEOUT", 1)
    customer = CustomerFactory(external_id="HELD-1")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(Customer.objects.select_for_update().filter(pk=customer.pk))
                locked.set()
                release.wait(20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        client = Client()
        client.force_login(admin)
        waiting = client.post(
            "/api/v1/mrr/",
            [{"customer": "HELD-1", "effective_date": "2024-01-01", "mrr": "10"}],
            content_type="application/json",
        )
    finally:
        release.set()
        holder.join(20)
    assert waiting.status_code == 503, waiting.content
    assert waiting["Retry-After"] == "2"
    assert "retry" in waiting.json()["detail"].lower()
    assert not MrrEntry.objects.exists()
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/api/v1/mrr/",
        [{"customer": "HELD-1", "effective_date": "2024-01-01", "mrr": "10"}],
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
