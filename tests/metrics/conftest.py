from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Customer
from metrics.models import MrrEntry
from metrics.services import mrr_ledger_relink


def ledger(rows: list[tuple[Customer, str, str | int]]) -> None:
    """Write ledger rows (customer, "YYYY-MM-DD", mrr) at once, then link them as every writer must."""
    MrrEntry.objects.bulk_create(
        MrrEntry(customer=c, effective_date=dt.date.fromisoformat(d), mrr=Decimal(str(m))) for c, d, m in rows
    )
    mrr_ledger_relink(customer_ids=sorted({c.pk for c, _d, _m in rows}))


def bulk_customers(prefix: str, n: int, **fields) -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}-{i:05d}", name=f"{prefix} {i}", **fields) for i in range(n)
    )


@pytest.fixture
def revenue_url():
    def url(start: str, end: str, **extra: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"start": start, "end": end, **extra}.items())
        return f"/api/v1/metrics/revenue/?{query}"

    return url
