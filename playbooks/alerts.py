"""The in-app notifications' event subscribers (docs/workspace.md#notifications): assigned to me, turned red
in my book, survey answered in my book, mentioned in a note. They live in playbooks, the lowest layer that
can read everything they word (a task's title, a survey answer, a customer), and are subscribed in
PlaybooksConfig.ready(). Each only writes rows through accounts.notifications.notify, inside the publisher's
transaction (core.events)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from accounts.models import Contact, Customer, NotificationKind, User
from accounts.notifications import Note, mentioned_users, notify, notify_many
from core import events

from .models import Task


def _customer(customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).only("name", "external_id", "csm_id").first()


def on_tasks_assigned(*, payloads: list[dict[str, Any]], **_: Any) -> None:
    """task.assigned, all the tasks of one publish at once (a run's tasks, a reconcile's moves): two reads and
    one notify_many, not a few statements per task."""
    wanted = [p for p in payloads if p["assignee_id"] and p["assignee_id"] != p["by_user_id"]]
    if not wanted:
        return
    tasks = Task.objects.only("title", "assignee_pinned").in_bulk([p["task_id"] for p in wanted])
    customers = Customer.objects.only("name", "external_id", "csm_id").in_bulk(
        list({p["customer_id"] for p in wanted})
    )
    inbox = reverse("playbooks:inbox")
    notes = []
    for p in wanted:
        task, customer = tasks.get(p["task_id"]), customers.get(p["customer_id"])
        if task is None or customer is None:
            continue
        notes.append(
            Note(
                (p["assignee_id"],),
                NotificationKind.ASSIGNED,
                f"Task “{task.title}” on {customer.name} was assigned to you",
                inbox,
                customer_id=customer.pk,
                actor_id=p["by_user_id"],
                # A task a playbook run created or moved is in the run's own email
                # (playbooks.services.notifications); one a person chose the assignee of (ad-hoc, reassigned)
                # is emailed here.
                email=task.assignee_pinned,
            )
        )
    notify_many(notes)


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
    events.subscribe_batch("task.assigned", on_tasks_assigned)
    events.subscribe("health.band_changed", on_band_changed)
    events.subscribe("survey.answered", on_survey_answered)
    events.subscribe("note.created", on_note_created)
