"""bench/simulate.py at a small size on the test database: deterministic, churners with their 0 MRR row,
consistent ledger links, and a backtest that runs on it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest

from accounts.models import Customer, User
from bench.simulate import simulate
from metrics.health.backtest import run_backtest
from metrics.models import KeyFeature, MrrEntry
from metrics.revenue import revenue_totals
from metrics.scope import Scope

END = dt.date(2026, 6, 30)
SIZE = {"customers": 150, "months": 6, "seed": 3, "end": END}


def _ledger() -> list[tuple]:
    return list(
        MrrEntry.objects.order_by("customer__external_id", "effective_date").values_list(
            "customer__external_id",
            "effective_date",
            "mrr",
            "prev_mrr",
            "positive_before",
            "next_date",
            "prev_date",
        )
    )


def _fingerprint() -> tuple[dict, str]:
    summary = simulate(**SIZE)
    data = dataclasses.asdict(summary)
    del data["seconds"]
    return data, hashlib.sha256(repr(_ledger()).encode()).hexdigest()


def _wipe() -> None:
    Customer.objects.all().delete()
    User.objects.filter(email__startswith="sim-csm").delete()
    KeyFeature.objects.all().delete()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_population():
    first = _fingerprint()
    _wipe()
    assert first == _fingerprint()
    assert first[0]["customers"] == 150
    assert first[0]["usage_daily_rows"] > 0
    assert first[0]["tickets"] > 0
    assert first[0]["nps_answers"] > 0


@pytest.mark.django_db
def test_churners_have_a_zero_row_and_the_ledger_links_hold():
    summary = simulate(**SIZE)
    assert summary.churned > 0
    churned = Customer.objects.filter(lifecycle_stage="churned")
    assert churned.count() == summary.churned
    zero = set(MrrEntry.objects.filter(mrr=0).values_list("customer_id", flat=True))
    assert set(churned.values_list("id", flat=True)) == zero
    # prev/next links as mrr_ledger_relink defines them (LAG/LEAD per customer)
    rows = _ledger()
    for k, (cid, _day, _mrr, prev_mrr, positive_before, next_date, prev_date) in enumerate(rows):
        before = [r for r in rows[:k] if r[0] == cid]
        after = rows[k + 1] if k + 1 < len(rows) and rows[k + 1][0] == cid else None
        assert prev_mrr == (before[-1][2] if before else 0)
        assert prev_date == (before[-1][1] if before else None)
        assert positive_before == any(r[2] > 0 for r in before)
        assert next_date == (after[1] if after else None)
    # the revenue engine's identity check (LedgerIdentityError) holds month by month
    start = summary.start
    while start < END:
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        totals = revenue_totals(scope=Scope(), start=start, end=end)
        assert totals.closing >= 0
        start = end + dt.timedelta(days=1)


@pytest.mark.django_db
def test_the_backtest_runs_on_it():
    summary = simulate(**SIZE)
    report = run_backtest(
        start=summary.start + dt.timedelta(days=60), end=END - dt.timedelta(days=30), resamples=20
    )
    assert len(report.as_of_dates) == 2
    assert report.horizons[0].scored_rows > 0
    assert any(h.auc is not None for h in report.horizons)
    assert 0.0 <= report.horizons[-1].auc <= 1.0
