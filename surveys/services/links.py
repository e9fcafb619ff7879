"""The public survey link (docs/surveys.md): open it, answer once, unsubscribe.

Two POSTs of the same link may arrive together: the row lock (PostgreSQL) or the one-response-per-invitation
unique index (SQLite) lets exactly one of them record an answer; the other gets LinkUsed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.dirty import customers_mark_dirty, kick, upsert_sql
from accounts.models import Contact
from core import events

from ..models import (
    COMMENT_MAX_LENGTH,
    Campaign,
    Invitation,
    InvitationState,
    Kind,
    Response,
    scale_of,
    token_hash,
)


class SurveyLinkError(Exception):
    status = 400
    title = "This link does not work"
    message = ""

    def __init__(self, invitation: Invitation | None = None):
        super().__init__(self.message)
        self.invitation = invitation


class LinkNotFound(SurveyLinkError):
    status = 404
    title = "We could not find this survey"
    message = "The link may be incomplete. Please open it again from the email you received."


class LinkExpired(SurveyLinkError):
    status = 410
    title = "This survey has closed"
    message = "The link has expired. Thank you for your interest all the same."


class LinkUsed(SurveyLinkError):
    status = 410
    title = "You have already answered"
    message = "We received your answer to this survey. Thank you!"


# What the public pages and the answer need (a narrower SELECT on the hottest public path).
ANSWER_FIELDS = (
    "id",
    "state",
    "expires_at",
    "customer_id",
    "campaign__id",
    "campaign__kind",
    "campaign__question",
    "contact__id",
    "contact__email",
    "contact__unsubscribed_at",
)


def invitation_for_token(token: str, *, for_update: bool = False) -> Invitation:
    """The invitation a link opens, or LinkNotFound for a forged/unknown token."""
    if not token or len(token) > 100:
        raise LinkNotFound()
    qs = (
        Invitation.objects.select_related("campaign", "contact")
        .only(*ANSWER_FIELDS)
        .filter(token_hash=token_hash(token))
    )
    if for_update:
        qs = qs.select_for_update(of=("self",))
    found = list(qs.order_by()[:1])  # unique column: no ORDER BY needed (the public POST path is hot)
    if not found:
        raise LinkNotFound()
    return found[0]


def check_answerable(invitation: Invitation) -> None:
    if invitation.state == InvitationState.ANSWERED:
        raise LinkUsed(invitation)
    if invitation.expires_at <= timezone.now():
        raise LinkExpired(invitation)


def invitation_open(*, token: str) -> Invitation:
    """A GET of the link: mark it opened (never answered — scanners prefetch links) and return it."""
    invitation = invitation_for_token(token)
    check_answerable(invitation)
    if invitation.state == InvitationState.SENT:
        Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENT).update(
            state=InvitationState.OPENED, opened_at=timezone.now()
        )
    return invitation


def validate_answer(*, kind: str, score: Any, comment: str) -> int:
    scale = scale_of(kind)
    try:
        value = int(score)
    except (TypeError, ValueError):
        raise ValidationError({"score": f"Choose a score from {scale[0]} to {scale[-1]}."}) from None
    if value not in scale:
        raise ValidationError({"score": f"Choose a score from {scale[0]} to {scale[-1]}."})
    if len(comment) > COMMENT_MAX_LENGTH:
        message = f"Please keep your comment under {COMMENT_MAX_LENGTH:,} characters ({len(comment):,} now)."
        raise ValidationError({"comment": message})
    return value


def _answer_in_one_statement(*, token: str, score: Any, comment: str) -> Response | None:
    """The public POST's common case on PostgreSQL, in one autocommitted statement (no BEGIN/SELECT/COMMIT
    round trips): mark the invitation answered and insert its response, only if the link is answerable and
    the score fits its survey's scale. None when nothing was written; the caller then takes the checked path,
    which finds out why (forged, used, expired, bad score) or, if the state changed in between, records it.

    A concurrent second POST of the same link waits on the first one's row lock, then sees the answered
    state and writes nothing, as the checked path's SELECT … FOR UPDATE would.
    """
    if connection.vendor != "postgresql" or not token or len(token) > 100:
        return None
    try:
        value = int(score)
    except (TypeError, ValueError):
        return None
    kinds = [kind for kind in Kind.values if value in scale_of(kind)]  # the scales are the models' only
    if not kinds or len(comment) > COMMENT_MAX_LENGTH:
        return None
    now = timezone.now()
    sql = f"""
        WITH answered AS (
            UPDATE {Invitation._meta.db_table} AS i SET state = %(answered)s, answered_at = %(now)s
            FROM {Campaign._meta.db_table} AS c
            WHERE i.token_hash = %(hash)s AND c.id = i.campaign_id AND i.state <> %(answered)s
              AND i.expires_at > %(now)s AND c.kind = ANY(%(kinds)s)
            RETURNING i.id, i.campaign_id, i.customer_id, i.contact_id, c.kind
        ),
        dirty AS ({upsert_sql("SELECT customer_id, %(now)s, 1 FROM answered")})
        INSERT INTO {Response._meta.db_table}
            (invitation_id, campaign_id, customer_id, contact_id, contact_email, kind, score, comment,
             answered_at)
        SELECT a.id, a.campaign_id, a.customer_id, a.contact_id, ct.email, a.kind, %(score)s, %(comment)s,
               %(now)s
        FROM answered AS a JOIN {Contact._meta.db_table} AS ct ON ct.id = a.contact_id
        RETURNING id, invitation_id, campaign_id, customer_id, contact_id, contact_email, kind
    """  # noqa: S608 - table names from our own models' metadata; every value is a parameter
    params = {
        "answered": InvitationState.ANSWERED,
        "now": now,
        "hash": token_hash(token),
        "kinds": kinds,
        "score": value,
        "comment": comment,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # In a transaction of its own only so that survey.answered's subscribers write in it too.
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is not None:
            _publish_answered(
                response_id=row[0], customer_id=row[3], contact_id=row[4], kind=row[6], score=value
            )
            # The mark went in with the answer (the CTE above); once it commits, queue the live recompute
            # (docs/health.md#live-data: usually no cache round trip, as a burst's task is already known).
            transaction.on_commit(kick)
    if row is None:
        return None
    fields = ("id", "invitation_id", "campaign_id", "customer_id", "contact_id", "contact_email", "kind")
    return Response.from_db(
        "default", [*fields, "score", "comment", "answered_at"], [*row, value, comment, now]
    )


def _publish_answered(*, response_id: int, customer_id: int, contact_id: int, kind: str, score: int) -> None:
    """survey.answered, in the answer's transaction (docs/architecture.md#events). History imported through
    the API is not announced: those answers are old news."""
    events.publish(
        "survey.answered",
        response_id=response_id,
        customer_id=customer_id,
        contact_id=contact_id,
        kind=kind,
        score=score,
    )


def invitation_answer(*, token: str, score: Any, comment: str = "") -> Response:
    """Record the one answer of a link; a second submit (even a concurrent one) raises LinkUsed."""
    comment = (comment or "").strip()
    try:
        response = _answer_in_one_statement(token=token, score=score, comment=comment)
    except IntegrityError:
        response = None  # the checked path below names the reason
    if response is not None:
        return response
    invitation = None
    try:
        with transaction.atomic():
            # The row lock makes a concurrent second POST wait here, then see the answered state.
            invitation = invitation_for_token(token, for_update=True)
            check_answerable(invitation)
            value = validate_answer(kind=invitation.campaign.kind, score=score, comment=comment)
            now = timezone.now()
            response = Response.objects.create(
                invitation=invitation,
                campaign_id=invitation.campaign_id,
                customer_id=invitation.customer_id,
                contact=invitation.contact,
                contact_email=invitation.contact.email,
                kind=invitation.campaign.kind,
                score=value,
                comment=comment,
                answered_at=now,
            )
            Invitation.objects.filter(pk=invitation.pk).update(
                state=InvitationState.ANSWERED, answered_at=now
            )
            customers_mark_dirty(
                customer_ids=[invitation.customer_id]
            )  # NPS / CSAT (docs/health.md#live-data)
            _publish_answered(
                response_id=response.pk,
                customer_id=response.customer_id,
                contact_id=response.contact_id,
                kind=response.kind,
                score=value,
            )
    except IntegrityError:
        # Without row locks (SQLite) the unique index is what stops the second of two concurrent POSTs.
        raise LinkUsed(invitation) from None
    return response


def contact_unsubscribe(*, token: str) -> Contact:
    """Stop all surveys to the link's address (every customer it is a contact of); works on old links too."""
    invitation = invitation_for_token(token)
    contact = invitation.contact
    with transaction.atomic():
        Contact.objects.filter(email__iexact=contact.email, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now()
        )
        Invitation.objects.filter(contact__email__iexact=contact.email, state=InvitationState.QUEUED).update(
            state=InvitationState.CANCELLED
        )
    contact.refresh_from_db(fields=["unsubscribed_at"])
    return contact
