"""Who is scored (docs/health.md#who-is-scored): churned customers, by the ledger or the lifecycle stage, get
no snapshot from their churn day; reactivated ones are scored again; a past day is recomputed without
look-ahead. And the lifecycle follows the ledger on every write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, LifecycleStage
from metrics.churn import churn_dates
from metrics.health.services import health_recompute, scored_ids
from metrics.models import HealthSnapshot
from metrics.services import mrr_upsert
from tests.factories import CustomerFactory, PulseFactory, TouchpointFactory, ledger

from .conftest import at

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def scorable(**kwargs) -> Customer:
    """A customer with enough data for a score every day of the last 200."""
    customer = CustomerFactory(**kwargs)
    PulseFactory(customer=customer, score=4, created_at=at(ago(200)))
    TouchpointFactory(customer=customer, occurred_at=at(ago(200)))
    return customer


def snapshot_days(customer) -> set[dt.date]:
    return set(HealthSnapshot.objects.filter(customer=customer).values_list("date", flat=True))


def recompute(*days: int) -> None:
    for n in days:
        health_recompute(day=ago(n), run_hooks=False)


def test_a_customer_churned_by_the_ledger_gets_no_snapshot_from_its_churn_day():
    gone, paying = scorable(), scorable()
    ledger(gone, (100, "500"), (10, "0"))
    ledger(paying, (100, "500"))
    recompute(11, 10, 0)
    assert snapshot_days(gone) == {ago(11)}  # its history stays
    assert snapshot_days(paying) == {ago(11), ago(10), ago(0)}
    assert churn_dates(customer_ids=[gone.pk, paying.pk], day=TODAY) == {gone.pk: ago(10)}


def test_a_past_day_before_the_churn_is_still_scored():
    """No look-ahead: the ledger dates the churn, so today's `churned` stage does not reach back before it."""
    gone = scorable()
    ledger(gone, (100, "500"), (10, "0"))
    assert Customer.objects.get(pk=gone.pk).lifecycle_stage == LifecycleStage.CHURNED
    recompute(30, 11)
    assert snapshot_days(gone) == {ago(30), ago(11)}


def test_a_customer_churned_by_its_lifecycle_stage_is_not_scored():
    gone = scorable(lifecycle_stage=LifecycleStage.CHURNED)  # no ledger churn to date it: every day
    stays = scorable()
    recompute(30, 0)
    assert snapshot_days(gone) == set()
    assert snapshot_days(stays) == {ago(30), ago(0)}


def test_a_reactivated_customer_is_scored_again_from_the_day_it_pays():
    back = scorable()
    ledger(back, (100, "500"), (20, "0"))
    assert Customer.objects.get(pk=back.pk).lifecycle_stage == LifecycleStage.CHURNED
    ledger(back, (5, "300"))
    recompute(21, 20, 6, 5, 0)
    assert snapshot_days(back) == {ago(21), ago(5), ago(0)}
    assert Customer.objects.get(pk=back.pk).lifecycle_stage == LifecycleStage.ONBOARDING


def test_a_customer_that_never_paid_is_not_churned():
    """MRR 0 without a positive MRR before is no churn (a trial, a contract not yet billed)."""
    trial = scorable()
    ledger(trial, (30, "0"))
    recompute(0)
    assert snapshot_days(trial) == {TODAY}
    assert Customer.objects.get(pk=trial.pk).lifecycle_stage == LifecycleStage.ADOPTING  # the factory's


def test_scored_ids_is_one_statement_per_chunk(django_assert_num_queries):
    customers = [scorable() for _ in range(5)]
    ledger(customers[0], (100, "500"), (10, "0"))
    Customer.objects.filter(pk=customers[1].pk).update(lifecycle_stage=LifecycleStage.CHURNED)
    lo, hi = customers[0].pk, customers[-1].pk
    with django_assert_num_queries(1):
        ids = scored_ids(lo, hi, day=TODAY)
    assert ids == [c.pk for c in customers[2:]]
    with django_assert_num_queries(1):
        assert scored_ids(lo, hi, day=ago(11)) == [customers[0].pk, *[c.pk for c in customers[2:]]]


# --- The lifecycle follows the ledger --------------------------------------------------------------


def stage(customer) -> str:
    return Customer.objects.get(pk=customer.pk).lifecycle_stage


def test_a_ledger_write_to_zero_churns_the_customer_and_a_payment_brings_it_back():
    customer = CustomerFactory(lifecycle_stage=LifecycleStage.MATURE)
    ledger(customer, (100, "500"))
    assert stage(customer) == LifecycleStage.MATURE
    ledger(customer, (3, "0"))
    assert stage(customer) == LifecycleStage.CHURNED
    ledger(customer, (1, "200"))
    assert stage(customer) == LifecycleStage.ONBOARDING  # a returning customer starts over


def test_a_future_dated_churn_does_not_churn_the_customer_today():
    customer = CustomerFactory(lifecycle_stage=LifecycleStage.AT_RENEWAL)
    ledger(customer, (100, "500"), (-30, "0"))
    assert stage(customer) == LifecycleStage.AT_RENEWAL


def test_a_customer_churned_by_hand_stays_churned_while_the_ledger_never_went_to_zero():
    customer = CustomerFactory(lifecycle_stage=LifecycleStage.CHURNED)
    ledger(customer, (100, "500"))
    assert stage(customer) == LifecycleStage.CHURNED


def test_the_api_write_and_the_lifecycle_are_one_transaction(admin_client):
    customer = CustomerFactory(lifecycle_stage=LifecycleStage.MATURE)
    ledger(customer, (100, "500"))
    rows = [
        {"customer": customer.external_id, "effective_date": ago(2).isoformat(), "mrr": "0"},
        {"customer": "NOPE", "effective_date": ago(2).isoformat(), "mrr": "5"},
    ]
    response = admin_client.post("/api/v1/mrr/", rows, content_type="application/json")
    assert response.status_code == 400
    assert stage(customer) == LifecycleStage.MATURE  # the bad row wrote nothing, the stage neither
    response = admin_client.post("/api/v1/mrr/", rows[:1], content_type="application/json")
    assert response.status_code < 300
    assert stage(customer) == LifecycleStage.CHURNED


def test_a_batch_of_1000_rows_updates_the_lifecycle_set_based():
    customers = CustomerFactory.create_batch(1000, lifecycle_stage=LifecycleStage.MATURE)
    rows = [{"customer": c.external_id, "effective_date": ago(100), "mrr": Decimal(100)} for c in customers]
    mrr_upsert(rows=rows)
    churn = [
        {"customer": c.external_id, "effective_date": ago(5), "mrr": Decimal(0)} for c in customers[:600]
    ]
    with CaptureQueriesContext(connection) as queries:
        mrr_upsert(rows=churn)
    table = Customer._meta.db_table
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')]
    assert len(updates) == 2  # churned, reactivated: one statement each for the batch (one chunk of ids)
    assert Customer.objects.filter(lifecycle_stage=LifecycleStage.CHURNED).count() == 600
    assert Customer.objects.filter(lifecycle_stage=LifecycleStage.MATURE).count() == 400
    total = len(queries.captured_queries)

    def statements_besides_the_ledger_inserts(queries) -> int:  # bulk_create batches with the rows
        return sum(
            not q["sql"].startswith('INSERT INTO "metrics_mrrentry"') for q in queries.captured_queries
        )

    # customer.churned is announced in one batch (docs/architecture.md#events): churning 100 customers costs
    # the statements churning 600 did.
    many = statements_besides_the_ledger_inserts(queries)
    fewer = [
        {"customer": c.external_id, "effective_date": ago(5), "mrr": Decimal(0)} for c in customers[600:700]
    ]
    with CaptureQueriesContext(connection) as queries:
        mrr_upsert(rows=fewer)
    assert statements_besides_the_ledger_inserts(queries) == many
    back = [
        {"customer": c.external_id, "effective_date": ago(1), "mrr": Decimal(50)} for c in customers[:600]
    ]
    with CaptureQueriesContext(connection) as queries:
        mrr_upsert(rows=back)
    assert (
        len(queries.captured_queries) <= total
    )  # the same statements, whatever moves (no churn to announce)
    assert Customer.objects.filter(lifecycle_stage=LifecycleStage.ONBOARDING).count() == 600


# --- Shown as churned, not red ---------------------------------------------------------------------


def test_the_book_and_the_customer_page_show_churned_not_red(csm, csm_client):
    gone = scorable(csm=csm, name="Goneco")
    ledger(gone, (100, "500"))
    recompute(11)
    Customer.objects.filter(pk=gone.pk).update(health_band="red", health_score=Decimal("20.0"))
    ledger(gone, (10, "0"))

    book = csm_client.get(reverse("book")).content.decode()
    assert 'data-testid="book-churned"' in book
    assert "score--red" not in book

    page = csm_client.get(gone.get_absolute_url()).content.decode()
    assert 'data-testid="health-churned"' in page
    assert f"on {ago(10):%-d %b %Y}" in page  # the ledger's churn date
    assert 'data-testid="health-score"' not in page


def test_a_customer_churned_by_hand_shows_churned_without_a_date(csm, csm_client):
    gone = scorable(csm=csm, lifecycle_stage=LifecycleStage.CHURNED)
    page = csm_client.get(gone.get_absolute_url()).content.decode()
    assert 'data-testid="health-churned"' in page
    assert "Churned: churned customers are not scored" in page
