from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import Contact, Customer, LifecycleStage, Pulse, Role, Team, Touchpoint, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = Role.CSM
    password = factory.PostGenerationMethodCall("set_password", "pass-1234-word")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    manager = factory.SubFactory(UserFactory, role=Role.MANAGER)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"CUST-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n} Inc")
    segment = "SMB"
    licenses = 50
    contract_start = dt.date(2024, 1, 15)
    go_live_date = dt.date(2024, 2, 20)
    renewal_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=120))
    lifecycle_stage = LifecycleStage.ADOPTING


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    email = factory.Sequence(lambda n: f"contact{n}@client.example")
    name = factory.Faker("name")
    title = "VP Operations"


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    customer = factory.SubFactory(CustomerFactory)
    author = factory.LazyAttribute(lambda o: o.customer.csm)
    kind = "call"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    sentiment = "neutral"
    summary = "Weekly check-in."


class PulseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pulse

    customer = factory.SubFactory(CustomerFactory)
    author = factory.LazyAttribute(lambda o: o.customer.csm)
    score = 4
    note = ""
