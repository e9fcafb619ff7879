from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Contact, Customer, LifecycleStage, Note, Pulse, Role, Team, Touchpoint, User


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


# --- surveys (helper E) ---


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    customer = factory.SubFactory(CustomerFactory)
    author = factory.LazyAttribute(lambda o: o.customer.csm)
    text = "Sponsor moves to the EU office in March."


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveys.Campaign"

    kind = "nps"
    question = "How likely are you to recommend Acme Analytics to a friend or colleague?"


class InvitationFactory(factory.django.DjangoModelFactory):
    """A sent invitation; use `invitation_with_token()` when the test needs the link's token."""

    class Meta:
        model = "surveys.Invitation"

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(ContactFactory)
    customer = factory.LazyAttribute(lambda o: o.contact.customer)
    state = "sent"
    sent_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))


def invitation_with_token(**kwargs):
    """(invitation, token): a sent invitation whose link token is known to the test."""
    import secrets

    from surveys.models import token_hash

    token = secrets.token_urlsafe(32)
    return InvitationFactory(token_hash=token_hash(token), **kwargs), token


class ResponseFactory(factory.django.DjangoModelFactory):
    """An imported (invitation-less) answer."""

    class Meta:
        model = "surveys.Response"

    contact = factory.SubFactory(ContactFactory)
    customer = factory.LazyAttribute(lambda o: o.contact.customer)
    contact_email = factory.LazyAttribute(lambda o: o.contact.email)
    kind = "nps"
    score = 9
    comment = ""
    answered_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=5))


# --- metrics (issue 3) ---------------------------------------------------------------------
from metrics.models import KeyFeature, MrrEntry, Renewal, Ticket  # noqa: E402
from metrics.services import mrr_upsert  # noqa: E402


class MrrEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MrrEntry

    customer = factory.SubFactory(CustomerFactory)
    effective_date = dt.date(2024, 1, 1)
    mrr = 100


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    external_id = factory.Sequence(lambda n: f"TCK-{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    opened_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))
    resolved_at = None
    priority = "normal"
    first_contact_resolution = None
    category = ""


class RenewalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Renewal

    customer = factory.SubFactory(CustomerFactory)
    due_date = dt.date(2024, 6, 30)
    arr_due = 12000
    outcome = "pending"
    renewed_arr = None


class KeyFeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeyFeature
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"feature-{n}")


# --- playbooks (helper G) ------------------------------------------------------------------------------


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.Playbook"

    name = factory.Sequence(lambda n: f"Playbook {n}")
    purpose = "Help the customer."
    enabled = True


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.Step"

    playbook = factory.SubFactory(PlaybookFactory)
    order = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Step {n}")
    guidance = "Do the thing."
    due_after_days = 3


class TriggerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.Trigger"

    playbook = factory.SubFactory(PlaybookFactory)
    condition = "band_entered"
    params = factory.LazyFunction(lambda: {"band": "red"})
    enabled = True
    cooldown_days = 30


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.Run"

    playbook = factory.SubFactory(PlaybookFactory)
    customer = factory.SubFactory(CustomerFactory)
    assignee = factory.LazyAttribute(lambda o: o.customer.csm)
    reason = "Started by hand"
    status = "open"


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.Task"

    run = factory.SubFactory(RunFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    assignee = factory.LazyAttribute(lambda o: o.run.assignee)
    due_date = factory.LazyFunction(timezone.localdate)


def ledger(customer: Customer, *rows: tuple[int, str]) -> None:
    """MRR ledger rows (days before today, mrr) written through the service, as the API and the CSV import
    write them (links and the lifecycle follow, as in production)."""
    today = timezone.localdate()
    mrr_upsert(
        rows=[
            {
                "customer": customer.external_id,
                "effective_date": today - dt.timedelta(days=n),
                "mrr": Decimal(m),
            }
            for n, m in rows
        ]
    )
