"""Revenue trend (docs/health.md): MRR on the day ÷ MRR 90 days before, from the ledger."""

from __future__ import annotations

import pytest

from metrics.health.factors import get_factor
from metrics.services import mrr_ledger_relink
from tests.factories import CustomerFactory, MrrEntryFactory

from .conftest import DAY, days_ago

pytestmark = pytest.mark.django_db

FACTOR = get_factor("revenue_trend")


def ledger(customer, *rows):
    for back, mrr in rows:
        MrrEntryFactory(customer=customer, effective_date=days_ago(back), mrr=mrr)


def test_mrr_now_over_mrr_90_days_ago():
    shrinking = CustomerFactory()
    steady = CustomerFactory()
    young = CustomerFactory()  # first paid 60 days ago: excused (the factor does not apply yet)
    churned = CustomerFactory()
    later_start = CustomerFactory()  # a row after D - 90 only, at 0 before: excused
    ledger(shrinking, (200, 1000), (30, 700))
    ledger(steady, (90, 500))  # in force exactly on D - 90
    ledger(young, (60, 300))
    ledger(churned, (120, 400), (10, 0))
    ledger(later_start, (120, 0), (50, 100))
    mrr_ledger_relink()
    ids = [c.pk for c in (shrinking, steady, young, churned, later_start)]
    got = FACTOR.readings(customer_ids=ids, day=DAY)
    assert {cid: r.value for cid, r in got.items() if not r.excused} == {
        shrinking.pk: 0.7,
        steady.pk: 1.0,
        churned.pk: 0.0,
    }
    assert {cid for cid, r in got.items() if r.excused} == {young.pk, later_start.pk}
    assert got[young.pk].value is None
    assert got[young.pk].detail == {"excused": "not paying 90 days ago"}
    assert got[shrinking.pk].detail == {"mrr": 700.0, "mrr_before": 1000.0}
    assert got[shrinking.pk].as_of == days_ago(30)


def test_only_the_customers_asked_for():
    a, b = CustomerFactory(), CustomerFactory()
    ledger(a, (100, 100))
    ledger(b, (100, 100))
    mrr_ledger_relink()
    assert set(FACTOR.readings(customer_ids=[b.pk], day=DAY)) == {b.pk}


def test_explain_in_plain_words():
    after = {"raw_value": 0.7, "detail": {"mrr": 700.0, "mrr_before": 1000.0}}
    assert FACTOR.explain(None, after, -3.0) == "MRR fell from $1,000 to $700 over 90 days"
    assert FACTOR.format_raw(0.7, after["detail"]) == "0.70x ($700 vs $1,000 90 days before)"
