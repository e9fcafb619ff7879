"""Writes for surveys (docs/surveys.md): send campaigns, deliver invitations, record answers, unsubscribe,
import history.

Races handled here, not in views: a send task may run twice (claimed with a conditional UPDATE); two POSTs of
the same link may arrive together (row lock + the one-response-per-invitation unique index).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, Customer, User
from accounts.visibility import check_can_manage
from core.ingest import IngestError, RowError, UpsertResult, bulk_upsert, check_duplicate_keys

from .enqueue import invitations_send_on_commit
from .models import (
    COMMENT_MAX_LENGTH,
    Campaign,
    Invitation,
    InvitationState,
    Kind,
    Response,
    SurveyKind,
    scale_of,
    token_hash,
)
from .selectors import CampaignPreview, campaign_preview

# A sending task holds an invitation this long; past it, a redelivered task may take it over.
SEND_LEASE = dt.timedelta(minutes=5)
# Queued this long without being sent: its task was lost (broker down at commit, retries exhausted).
STALE_AFTER = dt.timedelta(minutes=15)


# --- Campaigns ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignResult:
    campaign: Campaign
    queued: int
    skipped: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"campaign": self.campaign.pk, "queued": self.queued, "skipped": self.skipped}


def default_question(kind: str) -> str:
    survey_kind = SurveyKind.objects.for_kind(kind)
    return survey_kind.question.replace("{company}", settings.CSHUB_COMPANY_NAME)


def check_can_survey(*, user: User, customers: Sequence[Customer]) -> None:
    """docs/architecture.md#roles-and-permissions: managers survey their teams' customers, admins everyone,
    CSMs nobody."""
    check_can_manage(user=user, customers=customers, action="send survey campaigns", verb="survey")


def campaign_send(
    *, user: User, kind: str, customers: Iterable[Customer], question: str = "", selection: str = ""
) -> CampaignResult:
    """Create a campaign and its invitations, then queue the emails once the transaction has committed."""
    customers = list(customers)
    if kind not in Kind.values:
        raise ValidationError({"kind": f"Kind must be one of {', '.join(Kind.values)}."})
    if not customers:
        raise ValidationError({"customers": "Choose at least one customer."})
    check_can_survey(user=user, customers=customers)
    question = question.strip() or default_question(kind)
    now = timezone.now()
    with transaction.atomic():
        # Lock the contacts so two campaigns sent at once cannot both pass the throttle check.
        list(Contact.objects.select_for_update().filter(customer__in=customers).values_list("pk", flat=True))
        preview: CampaignPreview = campaign_preview(customers=customers, now=now)
        skipped = preview.skipped_counts
        campaign = Campaign.objects.create(
            kind=kind,
            question=question,
            created_by=user,
            created_at=now,
            selection=selection[:300],
            skipped_throttled=skipped["throttled"],
            skipped_unsubscribed=skipped["unsubscribed"],
            skipped_no_contacts=skipped["no_contacts"],
            skipped_churned=skipped["churned"],
        )
        expires_at = now + dt.timedelta(days=settings.CSHUB_SURVEY_TOKEN_DAYS)
        invitations = Invitation.objects.bulk_create(
            [
                Invitation(
                    campaign=campaign,
                    customer_id=contact.customer_id,
                    contact=contact,
                    created_at=now,
                    expires_at=expires_at,
                )
                for contact in preview.recipients
            ],
            batch_size=2000,
        )
        ids = [inv.pk for inv in invitations]
        size = max(1, settings.CSHUB_SURVEY_BATCH_SIZE)
        for start in range(0, len(ids), size):
            invitations_send_on_commit(invitation_ids=ids[start : start + size])
    return CampaignResult(campaign=campaign, queued=len(ids), skipped=skipped)


# --- Delivery ----------------------------------------------------------------------------------------------


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
        subject=f"{settings.CSHUB_COMPANY_NAME}: {invitation.campaign.question}"[:200],
        body=render_to_string("surveys/email/invitation.txt", context),
        to=[invitation.contact.email],
        connection=connection,
        headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"},
    )
    message.attach_alternative(render_to_string("surveys/email/invitation.html", context), "text/html")
    return message


def _claim(invitation_ids: Sequence[int], now: dt.datetime) -> dict[int, str]:
    """Take the claimable invitations for sending, each with a fresh token (only its hash is stored).

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
        tokens = {pk: secrets.token_urlsafe(32) for pk in ids}  # 256 bits each
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


# --- Public link -------------------------------------------------------------------------------------------


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
        )
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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = ("id", "invitation_id", "campaign_id", "customer_id", "contact_id", "contact_email", "kind")
    return Response.from_db(
        "default", [*fields, "score", "comment", "answered_at"], [*row, value, comment, now]
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


# --- History import ----------------------------------------------------------------------------------------


def responses_import(*, rows: Sequence[dict[str, Any]], first_row: int = 0) -> dict[str, int]:
    """Upsert historical answers (no invitation) on (customer, contact_email, kind, answered_at).

    `rows` come from ResponseImportSerializer (customer = external_id). Unknown customers are row errors and
    nothing is written; the contact is linked when the address is a known contact of that customer.
    """
    errors = check_duplicate_keys(
        rows,
        lambda r: (r["customer"], r["contact_email"].lower(), r["kind"], r["answered_at"]),
        field_name="answered_at",
        first_row=first_row,
    )
    external_ids = sorted({r["customer"] for r in rows})
    customer_ids: dict[str, int] = {}
    for start in range(0, len(external_ids), 2000):
        chunk = external_ids[start : start + 2000]
        customer_ids.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    contacts = {
        (customer_id, email.lower()): pk
        for pk, customer_id, email in Contact.objects.filter(
            customer_id__in=customer_ids.values()
        ).values_list("pk", "customer_id", "email")
    }
    values: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        customer_id = customer_ids.get(row["customer"])
        if customer_id is None:
            errors.append(RowError(i + first_row, "customer", "No customer has this external_id."))
            continue
        email = row["contact_email"].lower()
        values.append(
            {
                "customer_id": customer_id,
                "contact_email": email,
                "contact_id": contacts.get((customer_id, email)),
                "kind": row["kind"],
                "score": row["score"],
                "comment": row.get("comment") or "",
                "answered_at": row["answered_at"],
            }
        )
    if errors:
        raise IngestError(sorted(errors, key=lambda e: e.row))
    with transaction.atomic():
        result: UpsertResult = bulk_upsert(
            model=Response,
            rows=values,
            key_fields=("customer_id", "contact_email", "kind", "answered_at"),
            lookup=lambda chunk: Response.objects.filter(
                invitation__isnull=True,
                customer_id__in={r["customer_id"] for r in chunk},
                contact_email__in={r["contact_email"] for r in chunk},
            ),
        )
    return result.as_dict()
