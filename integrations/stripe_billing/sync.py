"""`manage.py sync_stripe [--since D]` (docs/integrations.md#the-backfill): every customer and subscription
through the Stripe API with the library's auto-paging, applied in chunks. Idempotent: a second run finds the
same versions and ledger rows and writes nothing."""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction

from core.api import INGEST_LOCK_TIMEOUT
from core.sql import set_local_lock_timeout

from .. import activity
from .services import CONNECTOR, Seen, stripe_objects_apply

PAGE_SIZE = 100  # Stripe's largest page
CHUNK = 2000  # objects per transaction


def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_API_KEY:
        raise ValueError("Set STRIPE_API_KEY (a restricted key that can read customers and subscriptions).")
    return stripe.StripeClient(
        settings.STRIPE_API_KEY, base_addresses={"api": settings.STRIPE_API_BASE}, max_network_retries=2
    )


def _plain(value: Any) -> Any:
    """The library reads JSON numbers with a fraction as Decimal; a version is stored as JSON, as a webhook's
    body has them (25.0, not "25.0"), so the two compare equal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _all(listing: Any) -> Iterator[dict[str, Any]]:
    for obj in listing.auto_paging_iter():
        yield _plain(obj.to_dict())


def stripe_sync(*, since: dt.date | None = None, client: stripe.StripeClient | None = None) -> dict[str, int]:
    """Backfill customers, then subscriptions (all statuses, discounts expanded), created on or after
    `since` if given."""
    client = client or stripe_client()
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if since is not None:
        params["created"] = {"gte": int(dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC).timestamp())}
    totals = {"customers": 0, "subscriptions": 0, "ledger_rows": 0, "errors": 0, "seen": 0}

    def apply(customers: list[dict], seen: list[Seen]) -> None:
        with transaction.atomic():
            set_local_lock_timeout(INGEST_LOCK_TIMEOUT)
            counts = stripe_objects_apply(customers=customers, seen=seen)
        for key, value in counts.items():
            totals[key] += value
        totals["seen"] += len(customers) + len(seen)

    now = int(time.time())
    sub_params = {**params, "status": "all", "expand": ["data.discounts"]}
    chunks: queue.Queue = queue.Queue(maxsize=4)

    def fetch() -> None:
        """In a thread: the pages are read and parsed by the library while the previous chunk is written
        (the database works meanwhile). Customers first, so subscriptions find them."""
        try:
            for kind, listing in (
                ("customers", client.v1.customers.list(params=params)),
                ("subscriptions", client.v1.subscriptions.list(params=sub_params)),
            ):
                batch: list[dict] = []
                for obj in _all(listing):
                    batch.append(obj)
                    if len(batch) >= CHUNK:
                        chunks.put((kind, batch))
                        batch = []
                if batch:
                    chunks.put((kind, batch))
            chunks.put(None)
        except Exception as exc:  # handed to the writing thread, which raises it
            chunks.put(exc)

    reader = threading.Thread(target=fetch, name="stripe-sync-fetch", daemon=True)
    reader.start()
    while (item := chunks.get()) is not None:
        if isinstance(item, Exception):
            raise item
        kind, batch = item
        if kind == "customers":
            apply(batch, [])
        else:
            apply([], [Seen(sub, None, now) for sub in batch])
    reader.join()
    activity.record_received(CONNECTOR, kind="sync", items=totals["seen"])
    return totals
