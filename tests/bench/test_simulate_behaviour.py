"""bench/simulate_behaviour.py at a small size: deterministic, usage-only (no tickets, surveys, pulses,
touchpoints or CSMs), one license per account, churners with their 0 MRR row and no usage after it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.db.models import Max

from accounts.models import Customer
from bench.simulate_behaviour import BEHAVIOURS, KEY, simulate
from metrics.models import KeyFeature, MrrEntry, UsageDaily

END = dt.date(2026, 6, 30)
SIZE = {"customers": 120, "months": 4, "seed": 5, "end": END}


def _summary() -> dict:
    data = dataclasses.asdict(simulate(**SIZE))
    del data["seconds"]
    return data


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_population():
    first = _summary()
    Customer.objects.all().delete()
    KeyFeature.objects.all().delete()
    assert first == _summary()
    assert first["customers"] == 120
    assert first["tickets"] == first["nps_answers"] == first["pulses"] == first["touchpoints"] == 0
    assert first["csms"] == 0
    assert first["churned"] > 0


@pytest.mark.django_db
def test_usage_only_accounts_stop_using_when_they_churn():
    simulate(**SIZE)
    assert set(Customer.objects.values_list("licenses", flat=True)) == {1}
    assert set(KeyFeature.objects.values_list("name", flat=True)) == set(KEY)
    assert set(UsageDaily.objects.values_list("feature", flat=True).distinct()) <= set(BEHAVIOURS)
    churn_days = dict(MrrEntry.objects.filter(mrr=0).values_list("customer_id", "effective_date"))
    assert churn_days
    last_use = dict(
        UsageDaily.objects.filter(customer_id__in=churn_days)
        .values("customer_id")
        .annotate(last=Max("day"))
        .values_list("customer_id", "last")
    )
    assert all(last_use[c] < churn_days[c] for c in last_use)
