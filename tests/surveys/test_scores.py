"""docs/metrics.md survey formulas: the worked examples, through the arithmetic and through SQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.models import Kind, Response
from surveys.scores import (
    ces_from_mean,
    ces_score,
    csat_from_counts,
    csat_score,
    distribution,
    monthly_scores,
    nps_from_counts,
    nps_score,
)
from surveys.selectors import account_nps_by_customer, csat_by_customer
from tests.factories import ContactFactory, CustomerFactory, ResponseFactory


def add_answers(customer, kind: str, scores: list[int], *, when: dt.datetime | None = None) -> None:
    when = when or timezone.now() - dt.timedelta(days=1)
    Response.objects.bulk_create(
        Response(
            customer=customer,
            contact_email=f"p{i}@client.example",
            kind=kind,
            score=score,
            answered_at=when - dt.timedelta(seconds=i),
        )
        for i, score in enumerate(scores)
    )


def test_nps_60_percent_promoters_10_percent_detractors_is_50():
    assert nps_from_counts(60, 30, 10) == 50


def test_nps_110_50_40_is_35():
    assert nps_from_counts(110, 50, 40) == 35


def test_nps_without_answers_is_undefined_not_zero():
    assert nps_from_counts(0, 0, 0) is None


def test_csat_80_of_100_is_80():
    assert csat_from_counts(80, 100) == 80


def test_ces_sum_400_over_100_is_4():
    assert ces_from_mean(400 / 100) == 4.0


@pytest.mark.django_db
def test_nps_in_sql_110_50_40_is_35(customer):
    add_answers(customer, Kind.NPS, [10] * 60 + [9] * 50 + [8] * 30 + [7] * 20 + [6] * 20 + [0] * 20)
    result = nps_score(Response.objects.all())
    assert (result.promoters, result.passives, result.detractors, result.responses) == (110, 50, 40, 200)
    assert result.score == 35


@pytest.mark.django_db
def test_nps_in_sql_60_10_is_50(customer):
    add_answers(customer, Kind.NPS, [9] * 6 + [8] * 3 + [3])
    assert nps_score(Response.objects.all()).score == 50


@pytest.mark.django_db
def test_csat_in_sql_80_of_100(customer):
    add_answers(customer, Kind.CSAT, [5] * 40 + [4] * 40 + [3] * 20)
    result = csat_score(Response.objects.all())
    assert (result.satisfied, result.responses, result.score) == (80, 100, 80)


@pytest.mark.django_db
def test_csat_in_sql_mixed_answers_is_60(customer):
    add_answers(customer, Kind.CSAT, [5] * 10 + [4] * 20 + [3] * 10 + [2] * 5 + [1] * 5)
    assert csat_score(Response.objects.all()).score == 60


@pytest.mark.django_db
def test_ces_in_sql_100_answers_summing_400(customer):
    add_answers(customer, Kind.CES, [3] * 50 + [5] * 50)
    assert ces_score(Response.objects.all()).score == 4.0


@pytest.mark.django_db
def test_ces_in_sql_ten_answers_is_5_1(customer):
    add_answers(customer, Kind.CES, [7, 6, 5, 4, 3, 7, 6, 2, 5, 6])
    assert ces_score(Response.objects.all()).score == 5.1


@pytest.mark.django_db
def test_scores_count_only_their_kind(customer):
    add_answers(customer, Kind.NPS, [10, 0])
    add_answers(customer, Kind.CSAT, [5])
    assert nps_score(Response.objects.all()).responses == 2
    assert csat_score(Response.objects.all()).score == 100
    assert ces_score(Response.objects.all()).score is None


@pytest.mark.django_db
def test_monthly_scores_group_by_calendar_month(customer):
    add_answers(customer, Kind.NPS, [10, 10], when=dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC))
    add_answers(customer, Kind.NPS, [0, 10], when=dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC))
    months = monthly_scores(Response.objects.all(), kind=Kind.NPS)
    assert [(m.month, m.score.score, m.score.responses) for m in months] == [
        (dt.date(2026, 3, 1), 100, 2),
        (dt.date(2026, 4, 1), 0, 2),
    ]


@pytest.mark.django_db
def test_distribution_lists_every_scale_value(customer):
    add_answers(customer, Kind.CSAT, [5, 5, 1])
    assert distribution(Response.objects.all(), kind=Kind.CSAT) == {1: 1, 2: 0, 3: 0, 4: 0, 5: 2}


@pytest.mark.django_db
def test_account_nps_uses_latest_answer_per_contact_in_180_days(django_assert_num_queries):
    a, b, empty = CustomerFactory(), CustomerFactory(), CustomerFactory()
    now = timezone.now()
    alice = ContactFactory(customer=a)
    bob = ContactFactory(customer=a)
    # Alice was a detractor, then a promoter: only the latest counts. Bob's old answer is out of the window.
    ResponseFactory(contact=alice, score=2, answered_at=now - dt.timedelta(days=100))
    ResponseFactory(contact=alice, score=10, answered_at=now - dt.timedelta(days=10))
    ResponseFactory(contact=bob, score=0, answered_at=now - dt.timedelta(days=200))
    carol = ContactFactory(customer=b)
    dan = ContactFactory(customer=b)
    ResponseFactory(contact=carol, score=9, answered_at=now - dt.timedelta(days=3))
    ResponseFactory(contact=dan, score=5, answered_at=now - dt.timedelta(days=3))
    ResponseFactory(contact=dan, kind=Kind.CSAT, score=1, answered_at=now - dt.timedelta(days=1))
    with django_assert_num_queries(1):
        result = account_nps_by_customer(customer_ids=[a.pk, b.pk, empty.pk])
    assert result == {a.pk: 100, b.pk: 0}


@pytest.mark.django_db
def test_csat_by_customer_last_90_days(django_assert_num_queries):
    a, b = CustomerFactory(), CustomerFactory()
    now = timezone.now()
    ResponseFactory(customer=a, contact=ContactFactory(customer=a), kind=Kind.CSAT, score=5)
    ResponseFactory(customer=a, contact=ContactFactory(customer=a), kind=Kind.CSAT, score=2)
    ResponseFactory(
        customer=a,
        contact=ContactFactory(customer=a),
        kind=Kind.CSAT,
        score=1,
        answered_at=now - dt.timedelta(days=95),
    )
    with django_assert_num_queries(1):
        result = csat_by_customer(customer_ids=[a.pk, b.pk])
    assert result == {a.pk: 50}


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scores=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=40))
def test_sql_nps_matches_the_definition_for_any_answers(customer, scores):
    Response.objects.all().delete()
    add_answers(customer, Kind.NPS, scores)
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    expected = round(100 * (promoters - detractors) / len(scores), 2)
    result = nps_score(Response.objects.all())
    assert result.score == expected
    assert result.promoters + result.passives + result.detractors == len(scores)
    assert -100 <= result.score <= 100
