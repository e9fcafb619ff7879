"""Property test: for random ledgers the SQL engine matches a plain-Python reading of docs/metrics.md,
the identity holds exactly, NRR >= GRR and 0 <= GRR <= 1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer
from metrics.models import MrrEntry
from metrics.revenue import revenue_totals
from metrics.scope import Scope
from metrics.services import mrr_ledger_relink

pytestmark = pytest.mark.django_db

BASE = dt.date(2024, 1, 1)
money = st.one_of(st.just(Decimal("0")), st.decimals(min_value=0, max_value=5000, places=2))
customer_ledger = st.dictionaries(st.integers(min_value=0, max_value=120), money, max_size=6)
ledgers = st.lists(customer_ledger, min_size=1, max_size=6)
periods = st.tuples(st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=60))


def mrr_on(rows: dict[int, Decimal], day: int) -> Decimal:
    past = [d for d in rows if d <= day]
    return rows[max(past)] if past else Decimal("0")


def reference(ledger: list[dict[int, Decimal]], start: int, end: int) -> dict[str, Decimal]:
    """docs/metrics.md read literally, one customer and one row at a time."""
    out = {
        k: Decimal("0") for k in ("opening", "closing", "new", "react", "exp", "contr", "churn", "s_closing")
    }
    for rows in ledger:
        out["opening"] += mrr_on(rows, start - 1)
        out["closing"] += mrr_on(rows, end)
        if mrr_on(rows, start - 1) > 0:
            out["s_closing"] += mrr_on(rows, end)
        for day in sorted(d for d in rows if start <= d <= end):
            value, prev = rows[day], mrr_on(rows, day - 1)
            positive_before = any(v > 0 for d, v in rows.items() if d < day)
            if prev == 0 and value > 0:
                out["react" if positive_before else "new"] += value
            elif value > prev > 0:
                out["exp"] += value - prev
            elif 0 < value < prev:
                out["contr"] += prev - value
            elif prev > 0 and value == 0:
                out["churn"] += prev
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers, period=periods)
def test_random_ledgers_match_the_definitions(db, ledger, period):
    MrrEntry.objects.all().delete()
    Customer.objects.filter(external_id__startswith="P-").delete()
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"P-{i}", name=f"P {i}") for i in range(len(ledger))
    )
    MrrEntry.objects.bulk_create(
        MrrEntry(customer=c, effective_date=BASE + dt.timedelta(days=d), mrr=m)
        for c, rows in zip(customers, ledger, strict=True)
        for d, m in rows.items()
    )
    mrr_ledger_relink()
    start = period[0]
    end = start + period[1]
    t = revenue_totals(
        scope=Scope(), start=BASE + dt.timedelta(days=start), end=BASE + dt.timedelta(days=end)
    )
    ref = reference(ledger, start, end)
    assert (t.opening, t.closing) == (ref["opening"], ref["closing"])
    assert (t.new, t.reactivation, t.expansion, t.contraction, t.churn) == (
        ref["new"],
        ref["react"],
        ref["exp"],
        ref["contr"],
        ref["churn"],
    )
    assert t.closing == t.opening + t.new + t.reactivation + t.expansion - t.contraction - t.churn
    assert t.cohort_closing == ref["s_closing"]
    if t.opening:
        nrr = t.cohort_closing / t.opening
        grr = t.cohort_floor / t.opening
        assert nrr >= grr
        assert 0 <= grr <= 1
