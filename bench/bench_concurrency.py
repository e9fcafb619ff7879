"""Concurrent ingestion at the issue's scale (docs/operations.md#failure-rules): 5,000 customers; 3 clients
each post 1,500 MRR rows with new dates for overlapping customers, 10 rounds. Prints the answers, the time per
round and the ledger links that differ from a fresh LAG/LEAD after each round (must be 0); then 4 clients
posting the same customers/mrr/tickets/renewals batch at once (all 200, the later ones "unchanged")."""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import recreate_database, setup_django

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "5000"))


def main() -> None:
    setup_django(recreate_database(script="bench_concurrency.py", default_name="cshub_bench_concurrency"))
    from django.db import connection
    from django.test import Client

    from accounts.models import Customer, Role
    from metrics.revenue.ledger import ledger_link_mismatches
    from tests.factories import UserFactory

    admin = UserFactory(email="bench-admin@example.com", role=Role.ADMIN)
    Customer.objects.bulk_create(
        Customer(external_id=f"K-{i:05}", name=f"Customer {i}") for i in range(CUSTOMERS)
    )

    def at_once(url: str, payloads: list[list[dict]]) -> list[tuple[int, dict]]:
        barrier = threading.Barrier(len(payloads))
        out: list[tuple[int, dict]] = [(0, {})] * len(payloads)

        def post(i: int) -> None:
            try:
                client = Client()
                client.force_login(admin)
                barrier.wait()
                response = client.post(url, payloads[i], content_type="application/json")
                out[i] = (response.status_code, response.json())
            finally:
                connection.close()

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    start = dt.date(2024, 1, 1)
    for rnd in range(10):
        batches = []
        for k in range(3):
            day = (start + dt.timedelta(days=rnd * 3 + k)).isoformat()
            offset = k * 500  # 1,500 customers each, overlapping the next client's by 1,000
            batches.append(
                [
                    {
                        "customer": f"K-{(offset + i) % CUSTOMERS:05}",
                        "effective_date": day,
                        "mrr": f"{100 + i % 50}",
                    }
                    for i in range(1500)
                ]
            )
        started = time.monotonic()
        answers = at_once("/api/v1/mrr/", batches)
        took = time.monotonic() - started
        print(
            f"round {rnd + 1}: {[s for s, _ in answers]} in {took:.1f} s;"
            f" ledger link mismatches {ledger_link_mismatches()}"
        )
    client = Client()
    client.force_login(admin)
    revenue = client.get("/api/v1/metrics/revenue/?start=2024-01-01&end=2024-02-29")
    print(f"GET /api/v1/metrics/revenue/: {revenue.status_code}")

    ids = [f"K-{i:05}" for i in range(1500)]
    batches = {
        "/api/v1/customers/": [{"external_id": c, "name": f"Renamed {c}"} for c in ids]
        + [{"external_id": f"NEW-{i:05}", "name": f"New {i}"} for i in range(500)],
        "/api/v1/mrr/": [{"customer": c, "effective_date": "2024-06-01", "mrr": "99.00"} for c in ids],
        "/api/v1/tickets/": [
            {"external_id": f"T-{c}", "customer": c, "opened_at": "2024-06-02T09:00:00Z", "priority": "high"}
            for c in ids
        ],
        "/api/v1/renewals/": [
            {"customer": c, "due_date": "2025-06-01", "arr_due": "1200.00", "outcome": "pending"} for c in ids
        ],
    }
    for url, payload in batches.items():
        answers = at_once(url, [payload] * 4)
        print(f"4 identical batches to {url}: {[s for s, _ in answers]} {[b for _, b in answers]}")
    print(f"ledger link mismatches at the end: {ledger_link_mismatches()}")


if __name__ == "__main__":
    main()
