"""Relative usage (docs/health.md): percentile of usage in the last 30 days among scored peers."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import LifecycleStage
from metrics.health.factors import get_factor, relative_usage
from metrics.health.factors.relative_usage import percentile
from metrics.health.population import scored_customers
from metrics.services import mrr_ledger_relink
from tests.factories import CustomerFactory, MrrEntryFactory

from .conftest import DAY, days_ago, usage

pytestmark = pytest.mark.django_db

FACTOR = get_factor("relative_usage")


def ranks(customers, day=DAY):
    got = FACTOR.readings(customer_ids=[c.pk for c in customers], day=day)
    return {c.pk: got[c.pk].value for c in customers if c.pk in got}


def test_percentile_by_hand():
    values = [0, 0, 5, 10, 10, 10, 20, 40]  # sorted, 8 customers
    # strictly lower + half the ties (itself included), over 8, x 100
    assert percentile(0, values) == pytest.approx(100 * (0 + 2 / 2) / 8)  # 12.5
    assert percentile(5, values) == pytest.approx(100 * (2 + 1 / 2) / 8)  # 31.25
    assert percentile(10, values) == pytest.approx(100 * (3 + 3 / 2) / 8)  # 56.25
    assert percentile(40, values) == pytest.approx(100 * (7 + 1 / 2) / 8)  # 93.75
    assert percentile(7, [7]) == 50.0


def test_small_base_ranks_per_license_and_no_usage_ranks_lowest():
    # Fewer than 30 in the segment: compared with the whole base. Events per license.
    a = CustomerFactory(licenses=10)  # 10 events/10 = 1 per license
    b = CustomerFactory(licenses=1)  # 4 events/1 = 4 per license
    c = CustomerFactory(licenses=0)  # 2 events, no licenses: events as they are
    idle = CustomerFactory(licenses=10)  # no usage in the window: 0, ranked, not missing
    usage(a, users=10, day=days_ago(3))
    usage(b, users=4, day=days_ago(29))
    usage(c, users=2, day=DAY)
    usage(idle, users=50, day=days_ago(30))  # just outside the 30 days
    got = ranks([a, b, c, idle])
    # values: idle 0, a 1, c 2, b 4 (4 customers)
    assert got == {idle.pk: 12.5, a.pk: 37.5, c.pk: 62.5, b.pk: 87.5}
    reading = FACTOR.readings(customer_ids=[b.pk], day=DAY)[b.pk]
    assert reading.detail == {"events": 4, "licenses": 1, "group": "", "peers": 4}
    assert reading.as_of == days_ago(29)


def test_churned_customers_are_missing_and_not_peers():
    paying = CustomerFactory(licenses=1)
    gone = CustomerFactory(licenses=1, lifecycle_stage=LifecycleStage.CHURNED)
    ledger_gone = CustomerFactory(licenses=1)
    never_paid = CustomerFactory(licenses=1)  # onboarding: no ledger row with MRR > 0, still scored
    MrrEntryFactory(customer=paying, effective_date=days_ago(200), mrr=100)
    MrrEntryFactory(customer=ledger_gone, effective_date=days_ago(200), mrr=100)
    MrrEntryFactory(customer=ledger_gone, effective_date=days_ago(10), mrr=0)
    MrrEntryFactory(customer=never_paid, effective_date=days_ago(5), mrr=0)
    mrr_ledger_relink()
    for c in (paying, gone, ledger_gone):
        usage(c, users=5, day=days_ago(1))
    assert set(scored_customers(DAY).values_list("pk", flat=True)) == {paying.pk, never_paid.pk}
    # Before the ledger's churn, ledger_gone is still scored.
    assert ledger_gone.pk in set(scored_customers(days_ago(11)).values_list("pk", flat=True))
    assert ranks([paying, gone, ledger_gone, never_paid]) == {paying.pk: 75.0, never_paid.pk: 25.0}


def test_segment_of_30_ranks_within_it_smaller_segments_against_everyone():
    big = [CustomerFactory(segment="Enterprise", licenses=1) for _ in range(30)]
    small = [CustomerFactory(segment="SMB", licenses=1) for _ in range(2)]
    for i, c in enumerate(big):
        usage(c, users=100 + i, day=DAY)  # every Enterprise customer uses more than any SMB one
    usage(small[0], users=1, day=DAY)
    usage(small[1], users=2, day=DAY)
    got = ranks(big + small)
    assert got[big[0].pk] == pytest.approx(100 * 0.5 / 30)  # lowest of its own segment
    assert got[small[0].pk] == pytest.approx(100 * 0.5 / 32)  # lowest of the whole base
    assert got[small[1].pk] == pytest.approx(100 * 1.5 / 32)
    detail = FACTOR.readings(customer_ids=[big[0].pk, small[0].pk], day=DAY)
    assert (detail[big[0].pk].detail["group"], detail[big[0].pk].detail["peers"]) == ("Enterprise", 30)
    assert (detail[small[0].pk].detail["group"], detail[small[0].pk].detail["peers"]) == ("", 32)


def test_two_chunks_rank_like_one_and_the_day_is_read_once(django_assert_num_queries):
    customers = [CustomerFactory(licenses=1 + i % 3) for i in range(12)]
    for i, c in enumerate(customers):
        if i % 4:
            usage(c, users=i % 5 + 1, day=days_ago(i))
    ids = [c.pk for c in customers]
    whole = FACTOR.readings(customer_ids=ids, day=DAY)
    relative_usage.forget()
    with django_assert_num_queries(1):  # one aggregate statement for the day, none for the second chunk
        first = FACTOR.readings(customer_ids=ids[:5], day=DAY)
        second = FACTOR.readings(customer_ids=ids[5:], day=DAY)
    assert {**first, **second} == whole
    with django_assert_num_queries(1):  # another day: read afresh; the latest MEMO_DAYS days are kept
        FACTOR.readings(customer_ids=ids, day=DAY - dt.timedelta(days=1))
    with django_assert_num_queries(0):  # DAY is still kept
        FACTOR.readings(customer_ids=ids, day=DAY)
    for back in range(2, relative_usage.MEMO_DAYS + 2):  # MEMO_DAYS more days push DAY out
        FACTOR.readings(customer_ids=ids, day=DAY - dt.timedelta(days=back))
    with django_assert_num_queries(1):
        FACTOR.readings(customer_ids=ids, day=DAY)


def test_format_and_explain():
    after = {"raw_value": 12.4, "detail": {"events": 30, "licenses": 10, "group": "SMB", "peers": 40}}
    before = {"raw_value": 41.0, "detail": {"events": 300, "licenses": 10, "group": "SMB", "peers": 40}}
    assert FACTOR.format_raw(12.4, after["detail"]) == "12th percentile in SMB (30 events, 3.0 per license)"
    assert (
        FACTOR.explain(before, after, -5.0)
        == "Usage compared with peers fell from the 41st to the 12th percentile"
    )
