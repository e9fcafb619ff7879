"""Slack (docs/integrations.md#slack): incoming-webhook URLs per team and a default, and the messages.

Three events post to Slack: a playbook run started, a customer's band turned red, and an NPS detractor answer
(0 to 6). The message goes to the channel of the team of the customer's CSM (the first of their teams by
name that has one), else to the default channel; with neither, nothing is sent. And the personal
notifications that concern one person — a task assigned to them, a note mentioning them — go to the channel
of that person's team (else the default), naming them, unless they turned it off in their notification
settings (docs/workspace.md#notifications). Messages are rows written in
the event's transaction and sent after commit through the outbox, retried like outbound webhooks
(integrations.outbound). Incoming-webhook URLs are secrets: pages show only their last characters.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import Customer, Notification, NotificationKind, NotificationSettings, Team, User
from accounts.visibility import can_manage_integrations

from .. import activity, outbound
from ..enqueue import slack_deliver_on_commit
from ..event_data import event_data
from ..models import SlackChannel, SlackMessage

CONNECTOR = "slack"
SLACK_EVENTS = ("playbook_run.started", "health.band_changed", "survey.answered")
NPS_DETRACTOR_MAX = 6  # surveys.scores.DETRACTOR


def masked(url: str, *, shown: int = 6) -> str:
    """A secret URL as pages show it: its scheme and host, then only its last characters."""
    if not url:
        return ""
    head = url.split("/", 3)
    prefix = "/".join(head[:3]) + "/" if len(head) > 3 else ""
    return f"{prefix}…{url[-shown:]}"


def _check(user: User) -> None:
    if not can_manage_integrations(user):
        raise PermissionDenied("Only admins may manage integrations.")


def slack_channel_set(*, user: User, team: Team | None, webhook_url: str) -> SlackChannel | None:
    """Set (or with "" remove) the incoming-webhook URL of `team`, or the default one (team None)."""
    _check(user)
    with transaction.atomic():
        channel = SlackChannel.objects.select_for_update().filter(team=team).first()
        before = masked(channel.webhook_url) if channel else ""
        if not webhook_url:
            if channel is not None:
                audit.record_delete(actor=user, obj=channel, fields=["team"])
                channel.delete()
            return None
        if channel is None:
            channel = SlackChannel.objects.create(team=team, webhook_url=webhook_url)
        elif channel.webhook_url != webhook_url:
            channel.webhook_url = webhook_url
            channel.save(update_fields=["webhook_url", "updated_at"])
        else:
            return channel
        audit.record(
            actor=user,
            action="update" if before else "create",
            obj=channel,
            changes=audit.diff({"webhook_url": before}, {"webhook_url": masked(webhook_url)}),
        )
    return channel


def channel_for(customer_id: int) -> SlackChannel | None:
    """The team channel of the customer's CSM, else the default (two queries)."""
    csm_id = Customer.objects.filter(pk=customer_id).values_list("csm_id", flat=True).first()
    return channel_for_user(csm_id)


def channel_for_user(user_id: int | None) -> SlackChannel | None:
    """The channel of the first team (by name) the user is in or manages that has one, else the default."""
    wanted = Q(team__isnull=True)
    if user_id:
        wanted |= Q(team__members=user_id) | Q(team__manager=user_id)
    channels = list(SlackChannel.objects.select_related("team").filter(wanted).distinct())
    by_team = sorted((c for c in channels if c.team_id), key=lambda c: c.team.name)
    if by_team:
        return by_team[0]
    return next((c for c in channels if c.team_id is None), None)


def escaped(text: Any) -> str:
    """Text as Slack's mrkdwn wants it: &, < and > escaped, so a name cannot forge a link or a mention."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_for(event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The Slack message of an event, or None when this occurrence is not one Slack hears about."""
    if event == "health.band_changed" and payload["band"] != "red":
        return None
    if event == "survey.answered" and (payload["kind"] != "nps" or payload["score"] > NPS_DETRACTOR_MAX):
        return None
    data = event_data(event, payload)
    customer = data["customer"]
    link = f"<{customer['url']}|{escaped(customer['name'])}>"
    if event == "playbook_run.started":
        run = data["run"]
        who = escaped(run["assignee_email"] or "nobody yet")
        text = (
            f":clipboard: Playbook *<{run['url']}|{escaped(run['playbook'])}>* started for {link}"
            f" ({escaped(run['reason'])});"
            f" assigned to {who}."
        )
    elif event == "health.band_changed":
        score = "" if payload["score"] is None else f" (score {payload['score']:.0f})"
        text = (
            f":red_circle: {link} turned *red*{score}, from {payload['previous_band']}, on {payload['day']}."
        )
    else:
        response = data["response"]
        comment = f"\n>{escaped(response['comment'][:500])}" if response["comment"] else ""
        text = (
            f":warning: Detractor: {escaped(response['contact_email'])} at {link}"
            f" answered NPS *{response['score']}*."
            f"{comment}"
        )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def slack_events_received(*, event: str, payloads: Sequence[dict[str, Any]]) -> int:
    """core.events batch subscriber: a SlackMessage row per occurrence Slack hears about, in the event's
    transaction; returns how many. One query when no channel is set up."""
    if not SlackChannel.objects.exists():
        return 0
    sent = 0
    for payload in payloads:
        body = message_for(event, payload)
        channel = channel_for(payload["customer_id"]) if body is not None else None
        if channel is None:
            continue
        now = timezone.now()
        message = SlackMessage.objects.create(
            channel=channel,
            event=event,
            payload=body,
            created_at=now,
            next_attempt_at=now,
            retry_until=now + outbound.RETRY_FOR,
        )
        slack_deliver_on_commit(message_id=message.pk)
        sent += 1
    return sent


def slack_message_send(*, message_id: int, force: bool = False, now: dt.datetime | None = None) -> str:
    """One attempt of a pending Slack message that is due; returns its state (safe to run twice)."""
    now = now or timezone.now()
    with transaction.atomic():
        message = outbound.claim(SlackMessage, message_id, now=now, force=force)
        if message is None:
            return "skipped"
        body = json.dumps(message.payload).encode()
        answer = outbound.http_post(message.channel.webhook_url, body=body, headers={})
        outbound.attempt_record(message, answer, now=now)
        if answer.ok:
            activity.record_received(CONNECTOR, kind=message.event)
        else:
            activity.record_error(
                CONNECTOR,
                f"{masked(message.channel.webhook_url)}: {answer.error}",
                kind=message.event,
                payload={"attempt": message.attempts, "body": message.payload},
            )
    return message.state


def slack_messages_retry_due(*, now: dt.datetime | None = None) -> int:
    """The sweep: queue (through the outbox) every pending Slack message whose next attempt is due."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = outbound.due_ids(SlackMessage, now=now)
        for pk in ids:
            slack_deliver_on_commit(message_id=pk)
    return len(ids)


# The personal notifications Slack carries: the team-wide ones (red, detractor) already post for everyone.
PERSONAL_KINDS = (NotificationKind.ASSIGNED, NotificationKind.MENTIONED)


def slack_notifications_received(*, event: str, payloads: Sequence[dict[str, Any]]) -> int:
    """core.events batch subscriber of "notification.created": a SlackMessage per personal notification whose
    person wants Slack and has a channel, in the notification's transaction; returns how many. One query
    when no channel is set up."""
    wanted = [p for p in payloads if p["kind"] in PERSONAL_KINDS]
    if not wanted or not SlackChannel.objects.exists():
        return 0
    off = set(
        NotificationSettings.objects.filter(
            user_id__in={p["user_id"] for p in wanted}, slack=False
        ).values_list("user_id", flat=True)
    )
    notes = Notification.objects.select_related("user").in_bulk(
        [p["notification_id"] for p in wanted if p["user_id"] not in off]
    )
    sent = 0
    for note in notes.values():
        # Told by another message already: a task a new run assigned is in the run's own Slack message.
        if note.emailed_at is not None:
            continue
        channel = channel_for_user(note.user_id)
        if channel is None:
            continue
        who = escaped(note.user.get_full_name() or note.user.email)
        link = f" <{settings.SITE_URL}{note.url}|Open>" if note.url else ""
        text = f":bell: For *{who}*: {escaped(note.title)}.{link}"
        now = timezone.now()
        message = SlackMessage.objects.create(
            channel=channel,
            event=event,
            payload={"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]},
            created_at=now,
            next_attempt_at=now,
            retry_until=now + outbound.RETRY_FOR,
        )
        slack_deliver_on_commit(message_id=message.pk)
        sent += 1
    return sent
