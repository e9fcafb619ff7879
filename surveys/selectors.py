"""Reads that span models: campaign previews, results, the customer panel and the health model's inputs."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.models import Contact, Customer, LifecycleStage, User
from accounts.selectors import for_customers
from accounts.visibility import editable_customers
from core.sql import day_start

from .models import Campaign, Invitation, InvitationState, Kind, Response, band_q
from .scores import DETRACTOR, PROMOTER, SATISFIED, csat_from_counts, nps_from_counts

SKIP_REASONS = {
    "churned": "Customer churned",
    "no_contacts": "No contacts",
    "unsubscribed": "Unsubscribed",
    "throttled": "Surveyed recently",
}


@dataclass(frozen=True)
class Skipped:
    customer: Customer
    contact: Contact | None
    reason: str  # a key of SKIP_REASONS

    @property
    def reason_label(self) -> str:
        return SKIP_REASONS[self.reason]


@dataclass
class CampaignPreview:
    recipients: list[Contact] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def skipped_counts(self) -> dict[str, int]:
        counts = Counter(s.reason for s in self.skipped)
        return {reason: counts.get(reason, 0) for reason in SKIP_REASONS}


def throttle_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=settings.CSHUB_SURVEY_THROTTLE_DAYS)


def campaign_preview(*, customers: Iterable[Customer], now: dt.datetime | None = None) -> CampaignPreview:
    """Who a campaign to `customers` would reach, and who it skips and why (docs/surveys.md), in two
    queries."""
    customers = list(customers)
    cutoff = throttle_cutoff(now)
    preview = CampaignPreview()
    live = []
    for customer in customers:
        if customer.lifecycle_stage == LifecycleStage.CHURNED:
            preview.skipped.append(Skipped(customer, None, "churned"))
        else:
            live.append(customer)
    by_id = {c.pk: c for c in live}
    contacts = (
        Contact.objects.filter(customer_id__in=list(by_id))
        .annotate(
            # Throttled by any survey kind: a recent invitation or a recent (possibly imported) answer.
            recently_invited=Exists(
                Invitation.objects.filter(contact=OuterRef("pk"), created_at__gte=cutoff).exclude(
                    state=InvitationState.CANCELLED
                )
            ),
            recently_answered=Exists(
                Response.objects.filter(contact=OuterRef("pk"), answered_at__gte=cutoff)
            ),
        )
        .order_by("customer_id", "email")
    )
    seen_customers = set()
    for contact in contacts:
        contact.customer = by_id[contact.customer_id]
        seen_customers.add(contact.customer_id)
        if contact.unsubscribed_at is not None:
            preview.skipped.append(Skipped(contact.customer, contact, "unsubscribed"))
        elif contact.recently_invited or contact.recently_answered:
            preview.skipped.append(Skipped(contact.customer, contact, "throttled"))
        else:
            preview.recipients.append(contact)
    for customer in live:
        if customer.pk not in seen_customers:
            preview.skipped.append(Skipped(customer, None, "no_contacts"))
    return preview


def campaign_customers(
    *,
    user: User,
    customer_ids: Iterable[int] = (),
    segment: str = "",
    csm: User | None = None,
    lifecycle_stage: str = "",
) -> QuerySet[Customer]:
    """The customers a campaign form selects, always within what `user` may survey (their book)."""
    qs = editable_customers(user).select_related("csm")
    ids = list(customer_ids)
    if ids:
        return qs.filter(pk__in=ids)
    if segment:
        qs = qs.filter(segment=segment)
    if csm is not None:
        qs = qs.filter(csm=csm)
    if lifecycle_stage:
        qs = qs.filter(lifecycle_stage=lifecycle_stage)
    return qs


# --- Results -----------------------------------------------------------------------------------------------


def responses_filtered(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    segment: str = "",
    csm: User | None = None,
    csm_email: str = "",
    customer: Customer | None = None,
) -> QuerySet[Response]:
    """Responses answered in [start, end] (days inclusive, TIME_ZONE) for a segment / CSM / customer."""
    qs = Response.objects.all()
    if start is not None:
        qs = qs.filter(answered_at__gte=day_start(start))
    if end is not None:
        qs = qs.filter(answered_at__lt=day_start(end + dt.timedelta(days=1)))
    if segment:
        qs = qs.filter(customer__segment=segment)
    if csm is not None:
        qs = qs.filter(customer__csm=csm)
    if csm_email:
        qs = qs.filter(customer__csm__email__iexact=csm_email)
    if customer is not None:
        qs = qs.filter(customer=customer)
    return qs


def comments_feed(*, responses: QuerySet[Response], band: str = "", kind: str = "") -> QuerySet[Response]:
    """Answers with a comment, newest first, with customer and CSM loaded (one query per page)."""
    qs = responses.exclude(comment="").select_related("customer", "customer__csm", "contact")
    if band:
        qs = qs.filter(band_q(band))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-answered_at", "-id")


def campaigns_with_rates(*, limit: int = 20) -> list[Campaign]:
    """Recent campaigns with sent/answered counts and the response rate, in one query."""
    campaigns = list(
        Campaign.objects.select_related("created_by")
        .annotate(
            invited=Count("invitations"),
            delivered=Count(
                "invitations",
                filter=Q(
                    invitations__state__in=[
                        InvitationState.SENT,
                        InvitationState.OPENED,
                        InvitationState.ANSWERED,
                    ]
                ),
            ),
            answered=Count("invitations", filter=Q(invitations__state=InvitationState.ANSWERED)),
        )
        .order_by("-created_at", "-id")[:limit]
    )
    for c in campaigns:
        c.response_rate = (c.answered / c.delivered) if c.delivered else None
    return campaigns


# --- Customer page panel ----------------------------------------------------------------------------------


def latest_answers_for_customer(*, customer: Customer) -> QuerySet[Response]:
    """Each contact's latest answer of each kind (no later answer of the same kind from that address)."""
    later = Response.objects.filter(
        customer_id=OuterRef("customer_id"),
        contact_email=OuterRef("contact_email"),
        kind=OuterRef("kind"),
    ).filter(
        Q(answered_at__gt=OuterRef("answered_at"))
        | Q(answered_at=OuterRef("answered_at"), id__gt=OuterRef("id"))
    )
    return (
        Response.objects.filter(customer=customer)
        .filter(~Exists(later))
        .select_related("contact")
        .order_by("contact_email", "kind")
    )


# --- Inputs of the health model (docs/health.md): many customers at once, one query each ------------------


def account_nps_by_customer(
    *, customer_ids: Iterable[int], as_of: dt.date | None = None, days: int = 180
) -> dict[int, float]:
    """docs/health.md NPS factor: account NPS (docs/metrics.md formula) over each contact's latest NPS answer
    in the last
    `days` days up to `as_of`. Customers without answers are absent (the factor is missing, not zero)."""
    end = day_start((as_of or timezone.localdate()) + dt.timedelta(days=1))
    start = end - dt.timedelta(days=days)
    # Each contact's latest answer in the window: rank 1 per (customer, address), newest first (ties: the
    # higher id). The window is restricted to the customers asked for before ranking, so the cost follows
    # their answers, not the whole table's.
    customers, wanted = for_customers(customer_ids)
    latest = (
        Response.objects.filter(customers, kind=Kind.NPS, answered_at__gte=start, answered_at__lt=end)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("contact_email")],
                order_by=[F("answered_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values("id")
    )
    rows = (
        Response.objects.filter(id__in=latest)
        .values("customer_id")
        .annotate(
            promoters=Count("id", filter=PROMOTER),
            detractors=Count("id", filter=DETRACTOR),
            total=Count("id"),
        )
        .order_by()
    )
    return {
        r["customer_id"]: nps_from_counts(
            r["promoters"], r["total"] - r["promoters"] - r["detractors"], r["detractors"]
        )
        for r in rows
        if r["customer_id"] in wanted
    }


def csat_by_customer(
    *, customer_ids: Iterable[int], as_of: dt.date | None = None, days: int = 90
) -> dict[int, float]:
    """docs/health.md CSAT factor: % satisfied (docs/metrics.md: answers 4-5) in the last `days` days up to
    `as_of`."""
    end = day_start((as_of or timezone.localdate()) + dt.timedelta(days=1))
    customers, wanted = for_customers(customer_ids)
    rows = (
        Response.objects.filter(
            customers,
            kind=Kind.CSAT,
            answered_at__gte=end - dt.timedelta(days=days),
            answered_at__lt=end,
        )
        .values("customer_id")
        .annotate(satisfied=Count("id", filter=SATISFIED), total=Count("id"))
        .order_by()
    )
    return {
        r["customer_id"]: csat_from_counts(r["satisfied"], r["total"])
        for r in rows
        if r["customer_id"] in wanted
    }


def invitation_counts(*, campaign: Campaign) -> dict[str, Any]:
    """Invitations of a campaign by state (expired counted apart), one query."""
    now = timezone.now()
    row = campaign.invitations.aggregate(
        total=Count("id"),
        queued=Count("id", filter=Q(state__in=[InvitationState.QUEUED, InvitationState.SENDING])),
        sent=Count("id", filter=Q(state=InvitationState.SENT, expires_at__gt=now)),
        opened=Count("id", filter=Q(state=InvitationState.OPENED, expires_at__gt=now)),
        answered=Count("id", filter=Q(state=InvitationState.ANSWERED)),
        expired=Count(
            "id",
            filter=Q(state__in=[InvitationState.SENT, InvitationState.OPENED], expires_at__lte=now),
        ),
        cancelled=Count("id", filter=Q(state=InvitationState.CANCELLED)),
    )
    delivered = row["sent"] + row["opened"] + row["answered"] + row["expired"]
    row["response_rate"] = row["answered"] / delivered if delivered else None
    return row


def any_answer_between(*, kind: str, since: dt.datetime, until: dt.datetime) -> bool:
    """Whether any customer answered a `kind` survey in [since, until) (is it a live source for health?)."""
    return Response.objects.filter(kind=kind, answered_at__gte=since, answered_at__lt=until).exists()
