"""Sending campaigns (docs/surveys.md): preview reasons, throttle, consent, permissions, exactly-once
sends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import LifecycleStage
from surveys.models import Invitation, InvitationState, Response, token_hash
from surveys.selectors import campaign_preview
from surveys.services import campaign_send, invitation_answer, invitations_deliver
from surveys.tasks import invitations_send
from tests.factories import ContactFactory, CustomerFactory, InvitationFactory, ResponseFactory

from .conftest import html_of, links_in, text_of


@pytest.fixture
def book(customer, csm):
    """Four contacts at `customer`: one fresh, one unsubscribed, one invited 10 days ago, one answered."""
    fresh = ContactFactory(customer=customer, email="fresh@northwind.example", name="Fiona Fresh")
    unsub = ContactFactory(customer=customer, email="gone@northwind.example", unsubscribed_at=timezone.now())
    invited = ContactFactory(customer=customer, email="invited@northwind.example")
    InvitationFactory(contact=invited, created_at=timezone.now() - dt.timedelta(days=10))
    answered = ContactFactory(customer=customer, email="answered@northwind.example")
    ResponseFactory(contact=answered, answered_at=timezone.now() - dt.timedelta(days=60))
    return {"fresh": fresh, "unsub": unsub, "invited": invited, "answered": answered}


def test_preview_lists_recipients_and_skips_with_reasons(book, customer, csm):
    empty = CustomerFactory(csm=csm, name="No Contacts Ltd")
    churned = CustomerFactory(csm=csm, lifecycle_stage=LifecycleStage.CHURNED)
    ContactFactory(customer=churned)
    preview = campaign_preview(customers=[customer, empty, churned])
    assert [c.email for c in preview.recipients] == ["fresh@northwind.example"]
    reasons = {(s.contact.email if s.contact else s.customer.name, s.reason) for s in preview.skipped}
    assert reasons == {
        ("gone@northwind.example", "unsubscribed"),
        ("invited@northwind.example", "throttled"),
        ("answered@northwind.example", "throttled"),
        ("No Contacts Ltd", "no_contacts"),
        (churned.name, "churned"),
    }
    assert preview.skipped_counts == {"churned": 1, "no_contacts": 1, "unsubscribed": 1, "throttled": 2}


def test_throttle_window_ends_after_90_days(customer, settings):
    contact = ContactFactory(customer=customer)
    InvitationFactory(contact=contact, created_at=timezone.now() - dt.timedelta(days=91))
    assert campaign_preview(customers=[customer]).recipients == [contact]
    settings.CSHUB_SURVEY_THROTTLE_DAYS = 120
    assert campaign_preview(customers=[customer]).recipients == []


def test_campaign_send_emails_only_eligible_contacts(
    book, customer, manager, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://cs.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        result = campaign_send(user=manager, kind="nps", customers=[customer])
    assert result.queued == 1
    assert result.skipped == {"churned": 0, "no_contacts": 0, "unsubscribed": 1, "throttled": 2}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fresh@northwind.example"]
    assert "Acme Analytics" in message.subject
    text = message.body
    html = message.alternatives[0][0]
    assert "How likely are you to recommend Acme Analytics to a friend or colleague?" in text
    buttons = [link for link in links_in(html) if "?score=" in link]
    assert [int(link.rsplit("=", 1)[1]) for link in buttons] == list(range(11))
    assert all(link.startswith("https://cs.example.com/s/") for link in buttons)
    assert "https://cs.example.com/s/" in text
    assert "/unsubscribe/" in text
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://cs.example.com/s/")
    invitation = Invitation.objects.get(campaign=result.campaign)
    assert invitation.state == InvitationState.SENT
    token = buttons[0].split("/s/")[1].split("/")[0]
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    assert invitation.token_hash == token_hash(token)
    assert token not in str(Invitation.objects.filter(campaign=result.campaign).values().get())  # hash only


def test_edited_question_is_sent_and_frozen_on_the_campaign(
    customer, manager, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        result = campaign_send(
            user=manager, kind="csat", customers=[customer], question="How was onboarding?"
        )
    assert result.campaign.question == "How was onboarding?"
    assert "How was onboarding?" in mail.outbox[0].body
    assert "1: http" in mail.outbox[0].body
    assert "5: http" in mail.outbox[0].body
    assert "0: http" not in mail.outbox[0].body


def test_second_campaign_within_throttle_skips_everyone(
    customer, manager, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_send(user=manager, kind="nps", customers=[customer])
        again = campaign_send(user=manager, kind="ces", customers=[customer])
    assert again.queued == 0
    assert again.skipped["throttled"] == 1
    assert len(mail.outbox) == 1


def test_unsubscribed_after_queueing_is_not_emailed(customer, manager):
    contact = ContactFactory(customer=customer)
    result = campaign_send(user=manager, kind="nps", customers=[customer])  # on_commit never runs here
    contact.unsubscribed_at = timezone.now()
    contact.save()
    invitations_send(list(result.campaign.invitations.values_list("pk", flat=True)))
    assert mail.outbox == []
    assert result.campaign.invitations.get().state == InvitationState.CANCELLED


def test_running_the_send_task_twice_sends_one_email(customer, manager):
    ContactFactory(customer=customer)
    result = campaign_send(user=manager, kind="nps", customers=[customer])
    ids = list(result.campaign.invitations.values_list("pk", flat=True))
    first = invitations_send(ids)
    second = invitations_send(ids)
    assert (first["sent"], second["sent"], second["skipped"]) == (1, 0, 1)
    assert len(mail.outbox) == 1


def test_a_task_holding_the_lease_blocks_a_duplicate(customer, manager):
    ContactFactory(customer=customer)
    result = campaign_send(user=manager, kind="nps", customers=[customer])
    invitation = result.campaign.invitations.get()
    Invitation.objects.filter(pk=invitation.pk).update(
        state=InvitationState.SENDING, claimed_at=timezone.now()
    )
    assert invitations_deliver(invitation_ids=[invitation.pk]).busy == [invitation.pk]
    assert mail.outbox == []
    # A lease older than SEND_LEASE means its task died: the invitation may be taken over.
    Invitation.objects.filter(pk=invitation.pk).update(claimed_at=timezone.now() - dt.timedelta(minutes=6))
    assert invitations_deliver(invitation_ids=[invitation.pk]).sent == [invitation.pk]
    assert len(mail.outbox) == 1


def test_task_retried_after_smtp_failure_sends_exactly_one_email(customer, manager, smtp_server):
    """Eager Celery: the 451 makes the task retry inline; the retry delivers once (real SMTP server).
    tests/surveys/test_worker.py does the same through a real worker on Redis."""
    smtp_server.fail_first = 1
    ContactFactory(customer=customer, email="retry@northwind.example")
    result = campaign_send(user=manager, kind="nps", customers=[customer])
    ids = list(result.campaign.invitations.values_list("pk", flat=True))
    invitations_send.apply(args=[ids], throw=False)  # eager mode runs the retry inline
    assert smtp_server.rejected == 1
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "retry@northwind.example"
    invitation = result.campaign.invitations.get()
    assert invitation.state == InvitationState.SENT
    # The link in the delivered email is the one that works (the failed attempt's token was discarded).
    token = links_in(text_of(message))[0].split("/s/")[1].split("/")[0]
    assert invitation.token_hash == token_hash(token)
    assert "Unsubscribe" in html_of(message)
    invitation_answer(token=token, score=10)
    assert Response.objects.get().score == 10


def test_csm_cannot_send_campaigns(customer, csm):
    ContactFactory(customer=customer)
    with pytest.raises(PermissionDenied):
        campaign_send(user=csm, kind="nps", customers=[customer])
    assert Invitation.objects.count() == 0


def test_manager_cannot_survey_another_teams_customers(customer, other_customer, manager):
    ContactFactory(customer=other_customer)
    with pytest.raises(PermissionDenied, match="Southpaw Labs"):
        campaign_send(user=manager, kind="nps", customers=[customer, other_customer])
    assert Invitation.objects.count() == 0


def test_admin_can_survey_anyone(other_customer, admin_user):
    ContactFactory(customer=other_customer)
    assert campaign_send(user=admin_user, kind="nps", customers=[other_customer]).queued == 1


def test_unknown_kind_and_empty_selection_are_rejected(customer, manager):
    with pytest.raises(ValidationError):
        campaign_send(user=manager, kind="xyz", customers=[customer])
    with pytest.raises(ValidationError):
        campaign_send(user=manager, kind="nps", customers=[])


def test_requeue_sends_invitations_whose_task_was_lost(customer, manager):
    from surveys.tasks import invitations_requeue_stale

    ContactFactory(customer=customer)
    ContactFactory(customer=customer)
    result = campaign_send(user=manager, kind="nps", customers=[customer])  # on_commit never ran: tasks lost
    assert invitations_requeue_stale() == 0  # too recent: its task may still be on its way
    result.campaign.invitations.update(created_at=timezone.now() - dt.timedelta(minutes=20))
    assert invitations_requeue_stale() == 2
    assert len(mail.outbox) == 2
    assert invitations_requeue_stale() == 0  # sent: nothing left
    assert len(mail.outbox) == 2


def test_a_question_with_a_newline_is_sent_on_one_subject_line(customer, manager):
    """A campaign written before questions were one line (or a kind's question edited in the admin) sent
    nothing: every attempt was a BadHeaderError, retried forever."""
    ContactFactory(customer=customer)
    result = campaign_send(user=manager, kind="nps", customers=[customer])
    result.campaign.question = "How likely\nare you\r\nto recommend us?"
    result.campaign.save()
    invitation = result.campaign.invitations.get()
    assert invitations_deliver(invitation_ids=[invitation.pk]).sent == [invitation.pk]
    assert mail.outbox[0].subject.endswith("How likely are you to recommend us?")
