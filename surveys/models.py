"""Surveys (docs/surveys.md): kinds with editable questions, campaigns, single-use invitations, responses."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Contact, Customer


class Kind(models.TextChoices):
    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"
    CES = "ces", "CES"


# The answer scale of each kind (docs/metrics.md): NPS 0-10, CSAT 1-5, CES 1-7 (7 = very easy).
SCALES: dict[str, tuple[int, int]] = {Kind.NPS: (0, 10), Kind.CSAT: (1, 5), Kind.CES: (1, 7)}
COMMENT_MAX_LENGTH = 2000


def scale_of(kind: str) -> range:
    low, high = SCALES[kind]
    return range(low, high + 1)


def token_hash(token: str) -> str:
    """Only this digest is stored: a database leak does not reveal working links."""
    return hashlib.sha256(token.encode()).hexdigest()


# Default wording; migration 0002 seeds the same rows (and an admin may edit them).
KIND_DEFAULTS: dict[str, dict[str, str]] = {
    Kind.NPS: {
        "name": "Net Promoter Score",
        "question": "How likely are you to recommend {company} to a friend or colleague?",
        "low_label": "Not at all likely",
        "high_label": "Extremely likely",
        "comment_prompt": "What is the main reason for your score? (optional)",
    },
    Kind.CSAT: {
        "name": "Customer Satisfaction",
        "question": "How satisfied are you with {company}?",
        "low_label": "Very unsatisfied",
        "high_label": "Very satisfied",
        "comment_prompt": "What could we do better? (optional)",
    },
    Kind.CES: {
        "name": "Customer Effort Score",
        "question": "How easy was it to get what you needed from {company}?",
        "low_label": "Very difficult",
        "high_label": "Very easy",
        "comment_prompt": "What made it easy or hard? (optional)",
    },
}


class SurveyKindManager(models.Manager["SurveyKind"]):
    def for_kind(self, kind: str) -> SurveyKind:
        """The wording of `kind`; recreated with the defaults if its row was deleted (or flushed by tests)."""
        obj, _ = self.get_or_create(kind=kind, defaults=KIND_DEFAULTS[kind])
        return obj


class SurveyKind(models.Model):
    """The editable wording of each kind; rows are created by a data migration."""

    kind = models.CharField(max_length=10, choices=Kind.choices, unique=True)
    name = models.CharField(max_length=100)
    question = models.TextField(help_text="Use {company} for the company name.")
    low_label = models.CharField(max_length=60)
    high_label = models.CharField(max_length=60)
    comment_prompt = models.CharField(max_length=200, default="Anything you would like to add? (optional)")

    objects = SurveyKindManager()

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> range:
        return scale_of(self.kind)


class Campaign(models.Model):
    kind = models.CharField(max_length=10, choices=Kind.choices)
    question = models.TextField()  # the wording actually sent, frozen at send time
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    selection = models.CharField(max_length=300, blank=True, help_text="How the customers were chosen.")
    skipped_throttled = models.PositiveIntegerField(default=0)
    skipped_unsubscribed = models.PositiveIntegerField(default=0)
    skipped_no_contacts = models.PositiveIntegerField(default=0)
    skipped_churned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} campaign of {self.created_at:%Y-%m-%d}"


class InvitationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    OPENED = "opened", "Opened"
    ANSWERED = "answered", "Answered"
    CANCELLED = "cancelled", "Not sent"  # the contact unsubscribed before the email went out


class Invitation(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_invitations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="survey_invitations")
    # SHA-256 of the emailed token; the token itself is made when the email is sent and never stored.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    state = models.CharField(
        max_length=10, choices=InvitationState.choices, default=InvitationState.QUEUED, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)  # lease of the task that is sending it
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["contact", "-created_at"])]

    def __str__(self) -> str:
        return f"Invitation {self.pk} to {self.contact_id}"

    @property
    def is_expired(self) -> bool:
        return self.state != InvitationState.ANSWERED and self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        """sent/opened/answered as stored, or expired once the link no longer works."""
        return "expired" if self.is_expired else self.state


class Response(models.Model):
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.CASCADE, related_name="response"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_responses")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    contact_email = models.EmailField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True, max_length=COMMENT_MAX_LENGTH)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "answered_at"]),
            models.Index(fields=["customer", "kind", "-answered_at"]),
        ]
        constraints = [
            # One answer per invitation comes from the OneToOneField's unique index; imported history
            # (no invitation) is idempotent on its natural key (docs/api.md).
            models.UniqueConstraint(
                fields=["customer", "contact_email", "kind", "answered_at"],
                condition=Q(invitation__isnull=True),
                name="survey_response_import_natural_key",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=Kind.NPS, score__gte=0, score__lte=10)
                    | Q(kind=Kind.CSAT, score__gte=1, score__lte=5)
                    | Q(kind=Kind.CES, score__gte=1, score__lte=7)
                ),
                name="survey_response_score_in_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score} from {self.contact_email}"

    @property
    def band(self) -> str:
        return score_band(self.kind, self.score)


# Comment feed bands: NPS detractor/passive/promoter (docs/metrics.md); CSAT and CES split the same way.
BANDS = {
    Kind.NPS: {"negative": (0, 6), "neutral": (7, 8), "positive": (9, 10)},
    Kind.CSAT: {"negative": (1, 2), "neutral": (3, 3), "positive": (4, 5)},
    Kind.CES: {"negative": (1, 3), "neutral": (4, 4), "positive": (5, 7)},
}
BAND_LABELS = {
    Kind.NPS: {"negative": "Detractor", "neutral": "Passive", "positive": "Promoter"},
    Kind.CSAT: {"negative": "Unsatisfied", "neutral": "Neutral", "positive": "Satisfied"},
    Kind.CES: {"negative": "Difficult", "neutral": "Neutral", "positive": "Easy"},
}


def score_band(kind: str, score: int) -> str:
    for band, (low, high) in BANDS[kind].items():
        if low <= score <= high:
            return band
    return "neutral"


def band_q(band: str) -> Q:
    """Responses of every kind whose score falls in `band` (negative/neutral/positive)."""
    q = Q(pk__in=[])
    for kind, bands in BANDS.items():
        low, high = bands[band]
        q |= Q(kind=kind, score__gte=low, score__lte=high)
    return q
