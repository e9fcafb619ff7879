"""Demo surveys for `seed_demo`: a year of NPS/CSAT/CES campaigns and answers, then one live campaign.

Answers follow each customer's trajectory from accounts.demo (healthy customers promote, declining ones turn
into detractors), and detractors usually say why. The live campaign goes through the real send path, so with
the console email backend (`make demo`) its emails, with their answer links, are printed.
Idempotent: the history is made once (recognised by its campaigns' `selection`), the live campaign too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings

from accounts.demo import TRAJECTORIES, DemoContext, plan_customers
from accounts.models import Contact, LifecycleStage, Role, User

from .models import Campaign, Invitation, InvitationState, Kind, Response, SurveyKind
from .selectors import campaign_preview
from .services import campaign_send

HISTORY_MARK = "Demo history"
LIVE_MARK = "Demo live campaign"
# One campaign a month, kinds in turn; each contact is asked at most every fourth month (throttle: 90 days).
# Indexed by months back: last month is NPS, so the home page's "NPS · 90 days" has answers on any date.
MONTHS = 12
KIND_OF_MONTH = [Kind.CSAT, Kind.NPS, Kind.CES, Kind.NPS]

COMMENTS = {
    "negative": [
        "Reports take forever to load on Monday mornings.",
        "We lost two days of data after the last sync failure and nobody told us.",
        "Support tickets sit for a week before anyone answers.",
        "The price went up but the product did not get better.",
        "Our new admins find the permissions model confusing.",
        "The Salesforce sync keeps creating duplicates.",
        "We still have no SSO, which blocks the wider rollout.",
        "Too many clicks to build a simple dashboard.",
        "Our CSM changed three times this year.",
        "The mobile app crashes when opening alerts.",
    ],
    "neutral": [
        "Does the job, but the exports could be more flexible.",
        "Good product, onboarding took longer than planned.",
        "Fine overall; we would like more training material.",
        "Solid, though the API rate limits bite at month end.",
    ],
    "positive": [
        "Our CSM is fantastic, always one step ahead.",
        "Scheduled reports saved my team hours every week.",
        "The forecasting module changed how we plan.",
        "Fast support and a product that keeps improving.",
        "Rolled out to three more departments, everyone loves it.",
        "Dashboards are finally something our execs open.",
    ],
}


def _month_start(today: dt.date, back: int) -> dt.date:
    year, month = today.year, today.month - back
    while month <= 0:
        month += 12
        year -= 1
    return dt.date(year, month, 1)


def _mood(trajectory: str, progress: float) -> float:
    """0 (unhappy) … 1 (delighted) at `progress` (0 = a year ago, 1 = today), from the pulse trajectory."""
    first, last = TRAJECTORIES.get(trajectory, (3.5, 3.5))
    return max(0.0, min(1.0, (first + (last - first) * progress - 1) / 4))


def _answer(rng, kind: str, mood: float) -> tuple[int, str]:
    if kind == Kind.NPS:
        roll = rng.random()
        if roll < 0.10 + 0.55 * mood:
            score, band = rng.choice([9, 10, 10]), "positive"
        elif roll < 0.45 + 0.40 * mood:
            score, band = rng.choice([7, 8, 8]), "neutral"
        else:
            score, band = rng.choice([0, 2, 3, 4, 5, 5, 6, 6, 6]), "negative"
        chance = {"negative": 0.75, "neutral": 0.3, "positive": 0.4}[band]
    elif kind == Kind.CSAT:
        if rng.random() < 0.35 + 0.6 * mood:
            score, band = rng.choice([4, 5, 5]), "positive"
        else:
            score = rng.choice([1, 2, 2, 3, 3])
            band = "neutral" if score == 3 else "negative"
        chance = {"negative": 0.6, "neutral": 0.25, "positive": 0.25}[band]
    else:
        score = max(1, min(7, round(rng.gauss(2.2 + 4.5 * mood, 1.1))))
        band = "positive" if score >= 5 else "neutral" if score == 4 else "negative"
        chance = 0.4 if band == "negative" else 0.15
    comment = rng.choice(COMMENTS[band]) if rng.random() < chance else ""
    return score, comment


def seed(ctx: DemoContext) -> None:
    for kind in Kind.values:
        SurveyKind.objects.for_kind(kind)
    if Campaign.objects.filter(selection__startswith=HISTORY_MARK).exists():
        ctx.log("survey history already there")
    else:
        _seed_history(ctx)
    _seed_live(ctx)


def _seed_history(ctx: DemoContext) -> None:
    customers = {c.external_id: c for c in ctx.demo_customers()}
    plans = {p.external_id: p for p in plan_customers(ctx, ctx.customers) if p.external_id in customers}
    contacts = list(
        Contact.objects.filter(customer__external_id__in=list(plans)).order_by("customer_id", "email")
    )
    external_id_of = {c.pk: external_id for external_id, c in customers.items()}
    sender = (
        User.objects.filter(role=Role.MANAGER, email__endswith="@demo.cshub.dev").order_by("email").first()
    )
    token_days = settings.CSHUB_SURVEY_TOKEN_DAYS
    invitations: list[Invitation] = []
    pending: list[tuple[Invitation, dict[str, Any]]] = []
    for back in range(MONTHS, 0, -1):
        kind = KIND_OF_MONTH[back % len(KIND_OF_MONTH)]
        day = _month_start(ctx.today, back) + dt.timedelta(days=ctx.rng.randint(2, 12))
        sent_at = ctx.at(day, 9, 30)
        question = SurveyKind.objects.for_kind(kind).question.replace(
            "{company}", settings.CSHUB_COMPANY_NAME
        )
        campaign = Campaign.objects.create(
            kind=kind,
            question=question,
            created_by=sender,
            created_at=sent_at,
            selection=f"{HISTORY_MARK}: {Kind(kind).label} of {day:%B %Y}",
        )
        progress = (MONTHS - back) / MONTHS
        for n, contact in enumerate(contacts):
            plan = plans[external_id_of[contact.customer_id]]
            if (n + back) % 4 or plan.contract_start > day or (plan.churned_on and plan.churned_on <= day):
                continue
            if contact.unsubscribed_at and contact.unsubscribed_at <= sent_at:
                continue
            rng = ctx.rng_for("survey", contact.email, back)
            invitation = Invitation(
                campaign=campaign,
                customer_id=contact.customer_id,
                contact=contact,
                # An unusable link: only the hash of a random token nobody kept.
                token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                state=InvitationState.SENT,
                created_at=sent_at,
                sent_at=sent_at,
                expires_at=sent_at + dt.timedelta(days=token_days),
            )
            roll = rng.random()
            if roll < 0.38:
                answered_at = sent_at + dt.timedelta(hours=rng.randint(1, 24 * 9))
                score, comment = _answer(rng, kind, _mood(plan.trajectory, progress))
                invitation.state = InvitationState.ANSWERED
                invitation.opened_at = invitation.answered_at = answered_at
                pending.append(
                    (
                        invitation,
                        {
                            "campaign": campaign,
                            "customer_id": contact.customer_id,
                            "contact": contact,
                            "contact_email": contact.email,
                            "kind": kind,
                            "score": score,
                            "comment": comment,
                            "answered_at": answered_at,
                        },
                    )
                )
            elif roll < 0.50:
                invitation.state = InvitationState.OPENED
                invitation.opened_at = sent_at + dt.timedelta(hours=rng.randint(1, 72))
            invitations.append(invitation)
    Invitation.objects.bulk_create(invitations, batch_size=2000)
    Response.objects.bulk_create(
        [Response(invitation=inv, **values) for inv, values in pending], batch_size=2000
    )
    ctx.log(f"{MONTHS} survey campaigns, {len(invitations)} invitations, {len(pending)} answers")


def _seed_live(ctx: DemoContext) -> None:
    """A fresh NPS campaign to a few contacts, through the real send path (emails printed by the console)."""
    if Campaign.objects.filter(selection__startswith=LIVE_MARK).exists():
        ctx.log("live survey campaign already sent")
        return
    admin = User.objects.filter(role=Role.ADMIN, email__endswith="@demo.cshub.dev").order_by("email").first()
    candidates = ctx.demo_customers().exclude(lifecycle_stage=LifecycleStage.CHURNED)[:40]
    customer = next((c for c in candidates if campaign_preview(customers=[c]).recipients), None)
    if admin is None or customer is None:
        return
    result = campaign_send(
        user=admin, kind=Kind.NPS, customers=[customer], selection=f"{LIVE_MARK}: {customer}"
    )
    ctx.log(
        f"live NPS campaign to {customer}: {result.queued} invitation(s) queued; "
        "with the console email backend the emails (and their answer links) are printed below"
    )
