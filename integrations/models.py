"""Integrations: background CSV imports (docs/operations.md#csv-import) and what each connector received
(docs/integrations.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Imported"
    FAILED = "failed", "Nothing written"


class ImportJob(models.Model):
    """One uploaded file and what became of it. The file is kept in the database until the job ends, so any
    worker on any machine can read it; then it is emptied (the counts or errors stay)."""

    kind = models.CharField(max_length=30)
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField(default=b"")
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    rows_expected = models.PositiveIntegerField(default=0, help_text="Lines of the file after the header.")
    rows_validated = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)  # [{row, field, message}], the first 1,000
    error_count = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.kind}, {self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)

    @property
    def percent(self) -> int:
        """Progress for the bar: validation and writing go chunk by chunk together."""
        if self.finished:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, round(100 * self.rows_validated / self.rows_expected))


class ConnectorActivity(models.Model):
    """What a connector received or sent, for the Integrations page (docs/integrations.md#activity).

    One row per request or delivery, not per event (`items` counts the events of a batch), so a busy tracking
    API adds a row per batch. A row with `error` set is a failure; its `payload` (trimmed, secrets removed by
    the caller) is kept to show beside it."""

    connector = models.CharField(max_length=30)
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(
        max_length=60, blank=True, help_text="The event or call, e.g. 'batch', 'invoice.paid'."
    )
    items = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True)
    payload = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "connector activity"
        indexes = [
            models.Index(fields=["connector", "-at"], name="connector_activity_at"),
            models.Index(
                fields=["connector", "-at"], name="connector_activity_errors", condition=~models.Q(error="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connector} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


# --- Outbound deliveries (shared by outbound webhooks and Slack; docs/integrations.md#outbound-webhooks)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class OutboundDelivery(models.Model):
    """One message to send out, retried with backoff until `retry_until` (24 h after it was queued, or after a
    resend). The row is the durable state: the first attempt is queued through the outbox in the transaction
    that creates it, later ones by the every-minute sweep of due rows."""

    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    retry_until = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)  # HTTP status; None: no answer
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    log = models.JSONField(default=list, blank=True)  # [{at, status, error, ms}], the latest 20 attempts

    class Meta:
        abstract = True


# --- Outbound webhooks


class WebhookEndpoint(models.Model):
    """A URL an admin registered for some events; deliveries signed per Standard Webhooks with `secret`."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)  # names from WEBHOOK_EVENTS
    secret = models.CharField(max_length=100)  # "whsec_" + base64 of 24 random bytes
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(OutboundDelivery):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    msg_id = models.CharField(max_length=40, unique=True)  # the webhook-id header: same on every retry

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(state="pending")
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.state})"


# --- Slack


class SlackChannel(models.Model):
    """An incoming-webhook URL: a team's (the team of the customer's CSM), or the default (team None)."""

    team = models.OneToOneField(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="slack_channel"
    )
    webhook_url = models.URLField(max_length=500)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                models.functions.Coalesce("team", 0), name="slack_channel_one_per_team_and_default"
            )
        ]

    def __str__(self) -> str:
        return f"Slack for {self.team or 'default'}"


class SlackMessage(OutboundDelivery):
    channel = models.ForeignKey(SlackChannel, on_delete=models.CASCADE, related_name="messages")
    event = models.CharField(max_length=40)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="slack_message_due", condition=models.Q(state="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"Slack {self.event} ({self.state})"


# --- Segment (docs/integrations.md#segment-spec-tracking-api) ---------------------------------------


class SegmentWriteKey(models.Model):
    """The write key the tracking API accepts (one row). Kept as the key itself, not a hash: `manage.py
    segment_write_key` must print it again, as Segment's own settings page does; the Integrations page shows
    only its first characters."""

    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"write key {self.key[:6]}…"


class SegmentGroupLink(models.Model):
    """A user's last `group` call: the customer (groupId = external_id) of its later track/page/screen calls
    that carry no `context.groupId`."""

    user_id = models.CharField(max_length=200, unique=True)
    group_id = models.CharField(max_length=100)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} → {self.group_id}"


class SegmentPendingKind(models.TextChoices):
    USAGE = "usage", "Usage event"
    CONTACT = "contact", "Contact"


class SegmentPending(models.Model):
    """A call whose customer is not known yet (no group for its user, or a groupId no customer has): kept,
    not dropped, and written when the `group` call that names its customer arrives. `row` is the validated
    row as the usage or contact ingestion takes it, less `customer`."""

    message_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=SegmentPendingKind.choices)
    user_id = models.CharField(max_length=200, db_index=True)
    group_id = models.CharField(max_length=100, blank=True, db_index=True)
    row = models.JSONField()
    # Indexed for the nightly expiry (CSHUB_SEGMENT_PENDING_DAYS) and the Integrations page's oldest call.
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"pending {self.kind} {self.message_id}"


# --- Stripe (docs/integrations.md#stripe) ------------------------------------------------------------------


class StripeEvent(models.Model):
    """A webhook event already applied: a replay of its id (Stripe retries, or a resend) changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class StripeCustomerLink(models.Model):
    """Which cshub customer a Stripe customer is: its `metadata.cshub_external_id`, else its Stripe id."""

    stripe_id = models.CharField(max_length=255, unique=True)
    external_id = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.stripe_id} → {self.external_id}"


class StripeSubscriptionVersion(models.Model):
    """A subscription as it was from `effective_date` on (the fields the MRR rules read). The ledger of its
    customer is Σ over its subscriptions of these versions' MRR (integrations/stripe_billing/mrr.py)."""

    subscription_id = models.CharField(max_length=255)
    stripe_customer = models.CharField(max_length=255, db_index=True)
    effective_date = models.DateField()
    # The Stripe event's `created` (or the sync's time): an older event arriving late does not overwrite
    # a newer version of the same day.
    stamp = models.BigIntegerField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription_id", "effective_date"], name="stripe_subscription_version_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} from {self.effective_date}"
