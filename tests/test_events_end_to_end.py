"""The branches meet: what lower layers publish reaches the notifications (playbooks.alerts) through the real
publishers, not only through events.publish in a test (docs/architecture.md#events, docs/workspace.md)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Customer, Notification, Role
from accounts.services import note_log
from metrics.health.services import health_customers_recompute, health_model_current
from tests.factories import CustomerFactory, PulseFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_note_mentioning_a_colleague_notifies_them_with_a_link_to_the_note():
    manager = UserFactory(role=Role.MANAGER, email="mia.manager@example.com")
    casey = UserFactory(role=Role.CSM, email="casey.csm@example.com")
    team = TeamFactory(manager=manager)
    team.members.add(casey)
    customer = CustomerFactory(csm=casey)

    note = note_log(user=manager, customer=customer, text="@casey.csm can you call them before Friday?")

    got = Notification.objects.get(user=casey)
    assert got.customer_id == customer.pk
    assert got.url.endswith(f"#note-{note.pk}")
    assert not Notification.objects.filter(user=manager).exists()  # never the author


def test_turning_red_in_the_recompute_notifies_the_csm():
    csm = UserFactory(role=Role.CSM)
    customer = CustomerFactory(csm=csm)
    PulseFactory(customer=customer, score=1)
    today = timezone.localdate()
    model_id = health_model_current().pk
    health_customers_recompute(day=today, model_id=model_id, customer_ids=[customer.pk])
    customer.refresh_from_db()
    assert customer.health_band == "red"
    assert not Notification.objects.filter(user=csm).exists()  # a first score is no change

    Customer.objects.filter(pk=customer.pk).update(health_band="green")  # as if it had been green before
    health_customers_recompute(day=today, model_id=model_id, customer_ids=[customer.pk])

    got = Notification.objects.get(user=csm)
    assert got.customer_id == customer.pk
    assert "red" in got.title.lower()
