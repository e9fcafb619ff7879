"""Writes for surveys (docs/surveys.md), one module per job:

- campaigns: who may survey whom; send a campaign (throttle and consent via campaign_preview), its emails
  queued after commit;
- delivery: the invitation email; deliver a batch, each invitation at most once; find the stale ones;
- links: the public link: open it, answer it once, unsubscribe;
- imports: import survey history.

Races handled here, not in views: a send task may run twice (claimed with a conditional UPDATE); two POSTs of
the same link may arrive together (row lock + the one-response-per-invitation unique index).

The names below are the package's public surface (views, API, tasks, demo, CSV import). The modules do not
import each other, nor this package.
"""

from __future__ import annotations

from .campaigns import CampaignResult, campaign_send, check_can_survey, default_question
from .delivery import (
    SEND_LEASE,
    STALE_AFTER,
    DeliveryResult,
    answer_url,
    invitation_email,
    invitations_deliver,
    stale_invitation_ids,
    unsubscribe_url,
)
from .imports import responses_import
from .links import (
    ANSWER_FIELDS,
    LinkExpired,
    LinkNotFound,
    LinkUsed,
    SurveyLinkError,
    check_answerable,
    contact_unsubscribe,
    invitation_answer,
    invitation_for_token,
    invitation_open,
    validate_answer,
)

__all__ = [
    "ANSWER_FIELDS",
    "SEND_LEASE",
    "STALE_AFTER",
    "CampaignResult",
    "DeliveryResult",
    "LinkExpired",
    "LinkNotFound",
    "LinkUsed",
    "SurveyLinkError",
    "answer_url",
    "campaign_send",
    "check_answerable",
    "check_can_survey",
    "contact_unsubscribe",
    "default_question",
    "invitation_answer",
    "invitation_email",
    "invitation_for_token",
    "invitation_open",
    "invitations_deliver",
    "responses_import",
    "stale_invitation_ids",
    "unsubscribe_url",
    "validate_answer",
]
