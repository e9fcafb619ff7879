"""The domain events integrations listens to are published where they happen, once per occurrence, inside the
transaction of the change (docs/architecture.md#events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from accounts.services import customers_upsert
from core import events
from metrics.health.services import health_chunk_recompute, health_customers_recompute, health_model_current
from metrics.services import mrr_upsert
from playbooks.services.runs import NewRun, runs_create
from playbooks.services.work import after_touchpoint_logged, task_complete
from surveys.services.links import LinkUsed, invitation_answer
from tests.factories import (
    CustomerFactory,
    PlaybookFactory,
    PulseFactory,
    StepFactory,
    TaskFactory,
    TouchpointFactory,
    invitation_with_token,
    ledger,
)

WATCHED = (
    "health.band_changed",
    "playbook_run.started",
    "task.completed",
    "survey.answered",
    "customer.churned",
)


@pytest.fixture
def published() -> Iterator[list[tuple[str, dict]]]:
    seen: list[tuple[str, dict]] = []

    def listener(*, event: str, **payload):
        seen.append((event, payload))

    for name in WATCHED:
        events.subscribe(name, listener)
    yield seen
    for name in WATCHED:
        events.unsubscribe(name, listener)


def names(seen):
    return [name for name, _ in seen]


def test_playbook_run_started_once_per_run(published, customer, manager):
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook)
    first = runs_create(playbook=playbook, rows=[NewRun(customer.pk, "red", {})], started_by=manager)
    again = runs_create(playbook=playbook, rows=[NewRun(customer.pk, "red", {})], started_by=manager)
    assert again == []
    assert published == [
        ("playbook_run.started", {"run_id": first[0], "customer_id": customer.pk, "playbook_id": playbook.pk})
    ]


def test_task_completed_by_hand_is_published_and_a_skip_is_not(published, csm, customer):
    task = TaskFactory(run__customer=customer, run__assignee=csm, assignee=csm)
    task_complete(user=csm, task=task)
    assert published == [
        ("task.completed", {"task_id": task.pk, "customer_id": customer.pk, "user_id": csm.pk})
    ]


def test_task_completed_by_a_logged_touchpoint(published, csm, customer):
    task = TaskFactory(
        run__customer=customer, run__assignee=csm, assignee=csm, required_touchpoint_kind="call"
    )
    touchpoint = TouchpointFactory(customer=customer, author=csm, kind="call", occurred_at=timezone.now())
    after_touchpoint_logged(touchpoint=touchpoint)
    after_touchpoint_logged(touchpoint=touchpoint)  # nothing left to complete
    assert published == [
        ("task.completed", {"task_id": task.pk, "customer_id": customer.pk, "user_id": csm.pk})
    ]


def test_survey_answer_is_published_once(published, customer):
    invitation, token = invitation_with_token(contact__customer=customer)
    response = invitation_answer(token=token, score="3", comment="Slow support")
    with pytest.raises(LinkUsed):
        invitation_answer(token=token, score="9")
    assert published == [
        (
            "survey.answered",
            {
                "response_id": response.pk,
                "customer_id": customer.pk,
                "contact_id": invitation.contact_id,
                "kind": "nps",
                "score": 3,
            },
        )
    ]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_survey_answer_on_postgresql_fast_path_is_published_in_its_transaction(published):
    """The one-statement answer of PostgreSQL runs in a transaction of its own so subscribers write in it."""
    customer = CustomerFactory()
    _invitation, token = invitation_with_token(contact__customer=customer)
    response = invitation_answer(token=token, score="10")
    assert names(published) == ["survey.answered"]
    assert published[0][1]["response_id"] == response.pk


def test_ledger_churn_is_published_once_with_the_day_the_mrr_went_to_zero(published, customer):
    ledger(customer, (60, "500"))
    churn_day = timezone.localdate() - dt.timedelta(days=3)
    row = {"customer": customer.external_id, "effective_date": churn_day, "mrr": Decimal(0)}
    mrr_upsert(rows=[row])
    mrr_upsert(rows=[row])  # replayed: unchanged, already churned
    assert published == [("customer.churned", {"customer_id": customer.pk, "day": churn_day.isoformat()})]
    customer.refresh_from_db()
    assert customer.lifecycle_stage == "churned"


def test_churn_set_by_hand_through_ingestion_is_published_once(published, customer):
    row = {"external_id": customer.external_id, "name": customer.name, "lifecycle_stage": "churned"}
    customers_upsert(rows=[row])
    customers_upsert(rows=[row])
    customers_upsert(rows=[{"external_id": "NEW-1", "name": "Born churned", "lifecycle_stage": "churned"}])
    assert published == [
        ("customer.churned", {"customer_id": customer.pk, "day": timezone.localdate().isoformat()})
    ]


def test_band_change_is_published_once_and_not_for_a_first_score_or_a_rerun(published, customer):
    PulseFactory(customer=customer, score=1)
    today = timezone.localdate()
    model_id = health_model_current().pk
    health_customers_recompute(day=today, model_id=model_id, customer_ids=[customer.pk])
    band = Customer.objects.get(pk=customer.pk).health_band
    assert band
    assert published == []  # a first score is no change

    other = "green" if band != "green" else "yellow"
    Customer.objects.filter(pk=customer.pk).update(health_band=other)  # as if it had been `other` before
    with transaction.atomic():
        health_customers_recompute(day=today, model_id=model_id, customer_ids=[customer.pk])
    health_customers_recompute(day=today, model_id=model_id, customer_ids=[customer.pk])  # same band again
    assert names(published) == ["health.band_changed"]
    payload = published[0][1]
    assert payload["customer_id"] == customer.pk
    assert (payload["band"], payload["previous_band"], payload["day"]) == (band, other, today.isoformat())
    assert payload["score"] == float(Customer.objects.get(pk=customer.pk).health_score)


def test_recomputing_an_older_day_publishes_no_band_change(published, customer):
    PulseFactory(customer=customer, score=1)
    today = timezone.localdate()
    model_id = health_model_current().pk
    health_customers_recompute(day=today, model_id=model_id, customer_ids=[customer.pk])
    band = Customer.objects.get(pk=customer.pk).health_band
    Customer.objects.filter(pk=customer.pk).update(health_band="green" if band != "green" else "yellow")
    health_customers_recompute(
        day=today - dt.timedelta(days=5), model_id=model_id, customer_ids=[customer.pk]
    )
    assert published == []


def test_the_nightly_chunk_publishes_band_changes_in_one_batch(customer, other_customer):
    got: list[list[int]] = []

    def batch(*, event, payloads):
        got.append(sorted(p["customer_id"] for p in payloads))

    for c in (customer, other_customer):
        PulseFactory(customer=c, score=1)
    today = timezone.localdate()
    model_id = health_model_current().pk
    lo, hi = sorted((customer.pk, other_customer.pk))
    health_chunk_recompute(day=today, model_id=model_id, lo=lo, hi=hi)
    for c in Customer.objects.filter(pk__in=[lo, hi]):
        Customer.objects.filter(pk=c.pk).update(health_band="green" if c.health_band != "green" else "yellow")
    events.subscribe_batch("health.band_changed", batch)
    try:
        health_chunk_recompute(day=today, model_id=model_id, lo=lo, hi=hi)
        health_chunk_recompute(day=today, model_id=model_id, lo=lo, hi=hi)
    finally:
        events.unsubscribe("health.band_changed", batch)
    assert got == [[lo, hi]]  # one call for the chunk; the re-run announces nothing
