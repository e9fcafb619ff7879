"""Survey campaigns (docs/surveys.md): who may survey whom, and sending a campaign: one invitation per
contact the throttle and consent allow (campaign_preview), their emails queued once the transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Contact, Customer, User
from accounts.visibility import check_can_manage

from ..enqueue import invitations_send_on_commit
from ..models import (
    Campaign,
    Invitation,
    Kind,
    SurveyKind,
)
from ..selectors import CampaignPreview, campaign_preview


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
