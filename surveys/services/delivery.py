"""Delivering invitations (docs/surveys.md): the email, and sending a batch over one SMTP connection, each
invitation at most once.

A send task may run twice (redelivery, the requeue job): each invitation is claimed with a conditional UPDATE
under a lease first, so a second run finds nothing to send.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..models import (
    Invitation,
    InvitationState,
    SurveyKind,
    scale_of,
    token_hash,
)

# A sending task holds an invitation this long; past it, a redelivered task may take it over.
SEND_LEASE = dt.timedelta(minutes=5)
# Queued this long without being sent: its task was lost (broker down at commit, retries exhausted).
STALE_AFTER = dt.timedelta(minutes=15)


def answer_url(token: str, score: int | None = None) -> str:
    url = settings.SITE_URL + reverse("surveys:answer", kwargs={"token": token})
    return f"{url}?{urlencode({'score': score})}" if score is not None else url


def unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("surveys:unsubscribe", kwargs={"token": token})


def invitation_email(
    *, invitation: Invitation, token: str, connection: Any = None, survey_kind: SurveyKind | None = None
) -> EmailMultiAlternatives:
    """The invitation: question, the scale as buttons (each preselects its score), company, unsubscribe."""
    survey_kind = survey_kind or SurveyKind.objects.for_kind(invitation.campaign.kind)
    low, high = scale_of(survey_kind.kind)[0], scale_of(survey_kind.kind)[-1]
    context = {
        "company": settings.CSHUB_COMPANY_NAME,
        "contact": invitation.contact,
        "customer": invitation.customer,
        "question": invitation.campaign.question,
        "kind": survey_kind,
        "scale": [{"value": n, "url": answer_url(token, n)} for n in range(low, high + 1)],
        "answer_url": answer_url(token),
        "unsubscribe_url": unsubscribe_url(token),
        "expires_at": invitation.expires_at,
    }
    message = EmailMultiAlternatives(
        # One line: a newline in a header is a BadHeaderError, and the send would retry forever.
        subject=" ".join(f"{settings.CSHUB_COMPANY_NAME}: {invitation.campaign.question}".split())[:200],
        body=render_to_string("surveys/email/invitation.txt", context),
        to=[invitation.contact.email],
        connection=connection,
        headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"},
    )
    message.attach_alternative(render_to_string("surveys/email/invitation.html", context), "text/html")
    return message


def invitation_token(invitation_id: int) -> str:
    """The token of an invitation's link: an HMAC of its id under SECRET_KEY (256 bits, unguessable without
    the key). The same on every send, so an email sent again after a crash between the SMTP send and
    marking it sent carries the same link as the first, and both work (docs/surveys.md#delivery). Only its
    hash is stored; a link is found by that hash, so links already sent stay valid if SECRET_KEY changes."""
    digest = salted_hmac("cshub.surveys.invitation-token", str(invitation_id), algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _claim(invitation_ids: Sequence[int], now: dt.datetime) -> dict[int, str]:
    """Take the claimable invitations for sending, each with its token (only the hash is stored).

    Claimable: queued, or "sending" under a lease that ran out (its task died). A second task, or a
    redelivery of this one, finds nothing left to claim: no email goes out twice.
    """
    with transaction.atomic():
        ids = list(
            Invitation.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(invitation_ids))
            .filter(
                Q(state=InvitationState.QUEUED)
                | Q(state=InvitationState.SENDING, claimed_at__lt=now - SEND_LEASE)
            )
            .values_list("pk", flat=True)
        )
        tokens = {pk: invitation_token(pk) for pk in ids}
        Invitation.objects.bulk_update(
            [
                Invitation(pk=pk, state=InvitationState.SENDING, claimed_at=now, token_hash=token_hash(token))
                for pk, token in tokens.items()
            ],
            ["state", "claimed_at", "token_hash"],
        )
    return tokens


@dataclass
class DeliveryResult:
    sent: list[int]
    busy: list[int]  # held by another task's unexpired lease: check again later
    skipped: list[int]


def invitations_deliver(*, invitation_ids: Sequence[int]) -> DeliveryResult:
    """Send the emails of these invitations over one SMTP connection, each at most once.

    The batch is claimed in one transaction; each email is marked sent as soon as the server accepted it. On
    an SMTP error the unsent rest is released (back to queued) and the error propagates, so the task retries
    them; the ones already sent stay sent.
    """
    result = DeliveryResult(sent=[], busy=[], skipped=[])
    ids = list(invitation_ids)
    # Unsubscribed since the campaign was queued: never emailed.
    cancelled = Invitation.objects.filter(
        pk__in=ids, state=InvitationState.QUEUED, contact__unsubscribed_at__isnull=False
    )
    result.skipped.extend(cancelled.values_list("pk", flat=True))
    cancelled.update(state=InvitationState.CANCELLED)
    tokens = _claim([pk for pk in ids if pk not in result.skipped], timezone.now())
    for pk, state in Invitation.objects.filter(pk__in=[p for p in ids if p not in tokens]).values_list(
        "pk", "state"
    ):
        if pk not in result.skipped:
            (result.busy if state == InvitationState.SENDING else result.skipped).append(pk)
    if not tokens:
        return result
    invitations = list(
        Invitation.objects.filter(pk__in=list(tokens))
        .select_related("campaign", "contact", "customer")
        .order_by("pk")
    )
    kinds = {kind: SurveyKind.objects.for_kind(kind) for kind in {i.campaign.kind for i in invitations}}
    unsent = set(tokens)
    connection = get_connection(fail_silently=False)
    try:
        connection.open()  # one SMTP session for the batch (send() alone would reconnect per message)
        for invitation in invitations:
            invitation_email(
                invitation=invitation,
                token=tokens[invitation.pk],
                connection=connection,
                survey_kind=kinds[invitation.campaign.kind],
            ).send()
            Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENDING).update(
                state=InvitationState.SENT, sent_at=timezone.now()
            )
            unsent.discard(invitation.pk)
            result.sent.append(invitation.pk)
    finally:
        if unsent:
            Invitation.objects.filter(pk__in=list(unsent), state=InvitationState.SENDING).update(
                state=InvitationState.QUEUED, claimed_at=None, token_hash=None
            )
        connection.close()
    return result


def stale_invitation_ids(*, now: dt.datetime | None = None, grace: dt.timedelta = STALE_AFTER) -> list[int]:
    """Invitations still queued well after their campaign, or held under a lease that ran out (unexpired)."""
    now = now or timezone.now()
    return list(
        Invitation.objects.filter(expires_at__gt=now)
        .filter(
            Q(state=InvitationState.QUEUED, created_at__lt=now - grace)
            | Q(state=InvitationState.SENDING, claimed_at__lt=now - SEND_LEASE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:100_000]
    )
