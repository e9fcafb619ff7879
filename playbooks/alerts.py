"""The in-app notifications' event subscribers (docs/workspace.md#notifications): assigned to me, turned red
in my book, survey answered in my book, mentioned in a note. They live in playbooks, the lowest layer that
can read everything they word (a task's title, a survey answer, a customer), and are subscribed in
PlaybooksConfig.ready(). Each only writes rows through accounts.notifications.notify, inside the publisher's
transaction (core.events)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from accounts.models import Contact, Customer, NotificationKind, User
from accounts.notifications import mentioned_users, notify
from core import events

from .models import Task


def _customer(customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).only("name", "external_id", "csm_id").first()


def on_task_assigned(
    *, task_id: int, customer_id: int, assignee_id: int | None, by_user_id: int | None, **_: Any
) -> None:
    if not assignee_id or assignee_id == by_user_id:
        return
    task = Task.objects.filter(pk=task_id).only("title", "assignee_pinned").first()
    customer = _customer(customer_id)
    if task is None or customer is None:
        return
    notify(
        user_ids=[assignee_id],
        kind=NotificationKind.ASSIGNED,
        title=f"Task “{task.title}” on {customer.name} was assigned to you",
        url=reverse("playbooks:inbox"),
        customer_id=customer.pk,
        actor_id=by_user_id,
        # A task a playbook run created or moved is in the run's own email (playbooks.services.notifications);
        # one a person chose the assignee of (ad-hoc, reassigned) is emailed here.
        email=task.assignee_pinned,
    )


def on_band_changed(*, customer_id: int, band: str, previous_band: str | None, score: Any, **_: Any) -> None:
    if band != "red" or previous_band == "red":
        return
    customer = _customer(customer_id)
    if customer is None or not customer.csm_id:
        return
    notify(
        user_ids=[customer.csm_id],
        kind=NotificationKind.TURNED_RED,
        title=f"{customer.name} turned red (health {score})"
        if score is not None
        else f"{customer.name} turned red",
        url=customer.get_absolute_url(),
        customer_id=customer.pk,
    )


def on_survey_answered(*, customer_id: int, contact_id: int | None, kind: str, score: Any, **_: Any) -> None:
    customer = _customer(customer_id)
    if customer is None or not customer.csm_id:
        return
    contact = Contact.objects.filter(pk=contact_id).only("name", "email").first() if contact_id else None
    who = (contact.name or contact.email) if contact else "A contact"
    notify(
        user_ids=[customer.csm_id],
        kind=NotificationKind.SURVEY_ANSWERED,
        title=f"{who} of {customer.name} answered {kind.upper()} with {score}",
        url=customer.get_absolute_url(),
        customer_id=customer.pk,
    )


def on_note_created(*, note_id: int, customer_id: int, author_id: int | None, text: str, **_: Any) -> None:
    users = mentioned_users(text)
    customer = _customer(customer_id)
    if not users or customer is None:
        return
    author = User.objects.filter(pk=author_id).first() if author_id else None
    notify(
        user_ids=[u.pk for u in users],
        kind=NotificationKind.MENTIONED,
        title=f"{author.get_full_name() if author else 'Someone'} mentioned you in a note on {customer.name}",
        url=f"{customer.get_absolute_url()}#note-{note_id}",
        customer_id=customer.pk,
        actor_id=author_id,
    )


def subscribe_all() -> None:
    events.subscribe("task.assigned", on_task_assigned)
    events.subscribe("health.band_changed", on_band_changed)
    events.subscribe("survey.answered", on_survey_answered)
    events.subscribe("note.created", on_note_created)
