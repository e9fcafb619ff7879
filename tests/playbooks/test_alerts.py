"""The notification subscribers (playbooks.alerts, docs/workspace.md#notifications), driven by publishing the
events directly, as the lower layers do."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction

from accounts.models import EmailMode, Notification, NotificationKind, NotificationSettings
from core import events
from tests.factories import ContactFactory, RunFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_task_assigned_notifies_the_assignee_and_emails_at_once(
    csm, manager, customer, django_capture_on_commit_callbacks
):
    task = TaskFactory(
        run=RunFactory(customer=customer), title="Call the sponsor", assignee=csm, assignee_pinned=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            "task.assigned",
            task_id=task.pk,
            customer_id=customer.pk,
            assignee_id=csm.pk,
            by_user_id=manager.pk,
        )
    n = Notification.objects.get()
    assert (n.user, n.kind, n.actor) == (csm, NotificationKind.ASSIGNED, manager)
    assert "Call the sponsor" in n.title
    assert customer.name in n.title
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [csm.email]
    n.refresh_from_db()
    assert n.emailed_at is not None


def test_many_assignments_at_once_notify_in_a_fixed_number_of_statements(
    csm, other_csm, manager, django_capture_on_commit_callbacks
):
    """A run started for many customers publishes all its tasks' task.assigned at once; the subscriber reads
    the tasks and customers once and writes the notifications together (accounts.notifications
    .notify_many)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import CustomerFactory

    def assign(n: int, *, pinned: bool) -> int:
        tasks = [
            TaskFactory(
                run=RunFactory(customer=CustomerFactory()),
                assignee=csm if i % 2 else other_csm,
                assignee_pinned=pinned,
                title=f"Step {i}",
            )
            for i in range(n)
        ]
        payloads = [
            {
                "task_id": t.pk,
                "customer_id": t.run.customer_id,
                "assignee_id": t.assignee_id,
                "by_user_id": None,
            }
            for t in tasks
        ]
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as emails:
            events.publish_many("task.assigned", payloads)
        assert len(emails) == (n if pinned else 0)  # only tasks a person chose the assignee of email here
        return len(queries.captured_queries)

    assert assign(2, pinned=True) == assign(12, pinned=True)
    assert assign(2, pinned=False) == assign(12, pinned=False)
    titles = set(Notification.objects.filter(kind=NotificationKind.ASSIGNED).values_list("title", flat=True))
    assert len(Notification.objects.filter(user=csm, kind=NotificationKind.ASSIGNED)) == 1 + 6 + 1 + 6
    assert any(t.startswith("Task “Step 11” on ") for t in titles)
    mine = Notification.objects.filter(
        user=other_csm, kind=NotificationKind.ASSIGNED, emailed_at__isnull=True
    )
    assert mine.count() == 1 + 6  # the pinned ones wait for their email; the others count as emailed


def test_assigning_oneself_notifies_nobody(csm, customer):
    task = TaskFactory(run=RunFactory(customer=customer), assignee=csm)
    events.publish(
        "task.assigned", task_id=task.pk, customer_id=customer.pk, assignee_id=csm.pk, by_user_id=csm.pk
    )
    assert not Notification.objects.exists()


def test_turned_red_notifies_the_csm_only_on_entering_red(csm, customer):
    events.publish(
        "health.band_changed",
        customer_id=customer.pk,
        day=dt.date(2026, 12, 1),
        band="yellow",
        previous_band="green",
        score=55,
    )
    events.publish(
        "health.band_changed",
        customer_id=customer.pk,
        day=dt.date(2026, 12, 2),
        band="red",
        previous_band="yellow",
        score=31,
    )
    n = Notification.objects.get()
    assert n.user == csm
    assert n.kind == NotificationKind.TURNED_RED
    assert n.url == customer.get_absolute_url()


def test_survey_answered_notifies_the_csm(csm, customer):
    contact = ContactFactory(customer=customer, name="Pat Doe")
    events.publish(
        "survey.answered", response_id=1, customer_id=customer.pk, contact_id=contact.pk, kind="nps", score=3
    )
    n = Notification.objects.get()
    assert n.user == csm
    assert n.title == f"Pat Doe of {customer.name} answered NPS with 3"


def test_mentions_by_email_local_part(csm, manager, other_csm, customer):
    UserFactory(email="gone@example.com", is_active=False)
    text = "Spoke with @manager and @Other.CSM. (cc @gone, not mail@example.com, not @nobody)"
    events.publish("note.created", note_id=7, customer_id=customer.pk, author_id=csm.pk, text=text)
    assert set(Notification.objects.values_list("user__email", flat=True)) == {manager.email, other_csm.email}
    assert Notification.objects.filter(kind=NotificationKind.MENTIONED, actor=csm).count() == 2


def test_author_mentioning_themselves_is_not_notified(csm, customer):
    events.publish("note.created", note_id=1, customer_id=customer.pk, author_id=csm.pk, text="note to @csm")
    assert not Notification.objects.exists()


def test_notification_rolls_back_with_the_publisher(csm, customer):
    def publisher():
        with transaction.atomic():
            events.publish(
                "health.band_changed",
                customer_id=customer.pk,
                day=dt.date(2026, 12, 2),
                band="red",
                previous_band="green",
                score=20,
            )
            raise RuntimeError("the publisher fails")

    with pytest.raises(RuntimeError):
        publisher()
    assert not Notification.objects.exists()


def test_digest_users_get_one_email_a_day(csm, customer, django_capture_on_commit_callbacks):
    from accounts.notifications import notifications_digest_send

    NotificationSettings.objects.create(user=csm, email_mode=EmailMode.DIGEST)
    with django_capture_on_commit_callbacks(execute=True):
        for day in (1, 2):
            events.publish(
                "health.band_changed",
                customer_id=customer.pk,
                day=dt.date(2026, 12, day),
                band="red",
                previous_band="green",
                score=20,
            )
    assert not mail.outbox
    assert notifications_digest_send() == 1
    assert len(mail.outbox) == 1
    assert "daily digest" in mail.outbox[0].subject
    assert notifications_digest_send() == 0  # nothing sent twice


def test_email_off_sends_nothing(csm, customer, django_capture_on_commit_callbacks):
    NotificationSettings.objects.create(user=csm, email_mode=EmailMode.OFF)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            "health.band_changed",
            customer_id=customer.pk,
            day=dt.date(2026, 12, 2),
            band="red",
            previous_band="green",
            score=20,
        )
    assert Notification.objects.count() == 1
    assert not mail.outbox
