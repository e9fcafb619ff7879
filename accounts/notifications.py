"""In-app notifications (docs/workspace.md#notifications): writing them, the unread count of the top bar,
marking read, the per-user email setting, and the emails (at once, or a daily digest).

`notify` is what the event subscribers call (playbooks.alerts): it only writes rows — the notifications and,
for users who want email at once, an outbox message — so it runs inside the publisher's transaction and
commits or rolls back with what caused it (core.events).

@mentions: a note mentions a user by `@` followed by the part of their email before the `@`
(`@casey.csm` is casey.csm@example.com), case-insensitive, active users only; the author is never notified
of their own mention. An email local part is unique enough in one company and never changes with a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from core import events

from .enqueue import notification_email_on_commit
from .models import EmailMode, Notification, NotificationSettings, User

# `@` not preceded by a word character (so an email address in the text is no mention), then a local part.
MENTION_RE = re.compile(r"(?<![\w.@])@([A-Za-z0-9][A-Za-z0-9._%+-]*)")
MAX_MENTIONS = 20
DIGEST_MAX = 200  # notifications in one digest email; the rest wait for the next day


def mentioned_users(text: str) -> list[User]:
    """The active users `text` mentions (the rule in the module docstring); one query."""
    tokens = {m.rstrip(".").lower() for m in MENTION_RE.findall(text or "")}
    tokens = {t for t in tokens if t}
    if not tokens:
        return []
    condition = Q()
    for token in sorted(tokens)[:MAX_MENTIONS]:
        condition |= Q(email__istartswith=f"{token}@")
    return list(User.objects.filter(condition, is_active=True))


def notify(
    *,
    user_ids: Iterable[int | None],
    kind: str,
    title: str,
    url: str = "",
    customer_id: int | None = None,
    actor_id: int | None = None,
    email: bool = True,
) -> list[Notification]:
    """Write one notification per active user in `user_ids` (not to the actor themselves); queue the email of
    those who want it at once. Rows only: safe inside the publisher's transaction. `email=False`: another
    email already tells them (a new playbook run's), so the row counts as emailed."""
    return notify_many(
        [Note(tuple(user_ids), kind, title, url, customer_id=customer_id, actor_id=actor_id, email=email)]
    )


@dataclass(frozen=True)
class Note:
    """One notify() call's arguments, for notify_many."""

    user_ids: tuple[int | None, ...]
    kind: str
    title: str
    url: str = ""
    customer_id: int | None = None
    actor_id: int | None = None
    email: bool = True


def notify_many(notes: Sequence[Note]) -> list[Notification]:
    """notify() for each note, in a fixed number of statements whatever their number (a playbook run started
    for many customers at once assigns dozens of tasks): the active users read once, the rows inserted at
    once, the email settings read once."""
    wanted = [(note, {pk for pk in note.user_ids if pk and pk != note.actor_id}) for note in notes]
    everyone = set().union(*(ids for _, ids in wanted))
    if not everyone:
        return []
    active = set(User.objects.filter(pk__in=everyone, is_active=True).values_list("pk", flat=True))
    now = timezone.now()
    built = [
        (
            note,
            Notification(
                user_id=pk,
                kind=note.kind,
                title=note.title[:300],
                url=note.url[:500],
                customer_id=note.customer_id,
                actor_id=note.actor_id,
                created_at=now,
                emailed_at=None if note.email else now,
            ),
        )
        for note, ids in wanted
        for pk in sorted(ids & active)
    ]
    rows = Notification.objects.bulk_create([row for _, row in built])
    events.publish_many(
        "notification.created",
        [{"notification_id": r.pk, "user_id": r.user_id, "kind": r.kind} for r in rows],
    )
    emailed = [row for (note, _), row in zip(built, rows, strict=True) if note.email]
    if not emailed:
        return rows
    not_immediate = set(
        NotificationSettings.objects.filter(user_id__in={row.user_id for row in emailed})
        .exclude(email_mode=EmailMode.IMMEDIATE)
        .values_list("user_id", flat=True)
    )
    for row in emailed:
        if row.user_id not in not_immediate:
            notification_email_on_commit(notification_id=row.pk)
    return rows


# --- Reading and marking read ---


def unread_count(user: User) -> int:
    """The top bar's count: one query on the partial index notification_unread."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(user=user)
        .select_related("customer", "actor")
        .order_by("-created_at", "-id")
    )


def notifications_mark_read(*, user: User, ids: Sequence[int] | None = None) -> int:
    """Mark `user`'s notifications read (those in `ids`, or all); another user's ids are ignored."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def email_mode_of(user: User) -> str:
    row = NotificationSettings.objects.filter(user=user).first()
    return row.email_mode if row else EmailMode.IMMEDIATE


def slack_wanted(user: User) -> bool:
    row = NotificationSettings.objects.filter(user=user).first()
    return row.slack if row else True


def notification_settings_set(
    *, user: User, email_mode: str, slack: bool | None = None
) -> NotificationSettings:
    """At once, a daily digest, or no email; and whether personal notifications also go to Slack."""
    if email_mode not in EmailMode.values:
        raise ValidationError({"email_mode": "Choose how to get notification emails."})
    defaults: dict = {"email_mode": email_mode}
    if slack is not None:
        defaults["slack"] = bool(slack)
    row, _ = NotificationSettings.objects.update_or_create(user=user, defaults=defaults)
    return row


# --- Email ---


def _send(user: User, notifications: Sequence[Notification], *, digest: bool) -> None:
    context = {
        "user": user,
        "items": [(n, settings.SITE_URL + n.url if n.url else "") for n in notifications],
        "digest": digest,
        "list_url": settings.SITE_URL + "/notifications/",
        "settings_url": settings.SITE_URL + "/notifications/settings/",
    }
    subject = (
        f"cshub: {len(notifications)} notification{'s' if len(notifications) != 1 else ''} (daily digest)"
        if digest
        else f"cshub: {notifications[0].title}"
    )
    send_mail(
        subject=subject[:200],
        message=render_to_string("accounts/email/notifications.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def notification_email_send(*, notification_id: int) -> bool:
    """Email one notification: claimed by a conditional update in the transaction of the send, so a second
    run sends nothing and an SMTP error rolls the claim back for the retry."""
    with transaction.atomic():
        claimed = Notification.objects.filter(
            pk=notification_id, emailed_at__isnull=True, user__is_active=True
        ).update(emailed_at=timezone.now())
        if not claimed:
            return False
        notification = Notification.objects.select_related("user").get(pk=notification_id)
        _send(notification.user, [notification], digest=False)
    return True


def notifications_digest_send() -> int:
    """The daily digest: each digest user's unsent notifications in one email. Returns emails sent."""
    user_ids = list(
        NotificationSettings.objects.filter(email_mode=EmailMode.DIGEST, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    sent = 0
    for user_id in user_ids:
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(user_id=user_id, emailed_at__isnull=True)
                .order_by("created_at", "pk")[:DIGEST_MAX]
            )
            if not rows:
                continue
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(emailed_at=timezone.now())
            _send(User.objects.get(pk=user_id), rows, digest=True)
            sent += 1
    return sent
