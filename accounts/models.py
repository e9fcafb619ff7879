"""People and customer accounts: User (role), Team, Customer, Contact, Touchpoint, Pulse, Note, AuditEntry."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.validation import validate_external_id

# The text limits of the forms and the API alike (docs/api.md#bad-input).
TOUCHPOINT_SUMMARY_MAX_LENGTH = 5000
PULSE_NOTE_MAX_LENGTH = 2000
NOTE_TEXT_MAX_LENGTH = 5000


class Role(models.TextChoices):
    CSM = "csm", "CSM"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class UserQuerySet(models.QuerySet["User"]):
    def csms(self) -> UserQuerySet:
        return self.filter(role=Role.CSM, is_active=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("role", Role.CSM)
        extra.setdefault("is_staff", extra.get("role") == Role.ADMIN)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        # docs/api.md: Django's createsuperuser makes an admin-role user.
        extra.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CSM, db_index=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split(" ")[0] if self.full_name else self.email.split("@")[0]) or self.email

    @property
    def initials(self) -> str:
        parts = (self.full_name or self.email).replace("@", " ").replace(".", " ").split()
        return "".join(p[0] for p in parts[:2]).upper()

    @property
    def is_csm(self) -> bool:
        return self.role == Role.CSM

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )
    members = models.ManyToManyField(User, blank=True, related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    ADOPTING = "adopting", "Adopting"
    MATURE = "mature", "Mature"
    AT_RENEWAL = "at_renewal", "At renewal"
    CHURNED = "churned", "Churned"


class CustomerQuerySet(models.QuerySet["Customer"]):
    pass


class Customer(models.Model):
    # Rows written before the charset rule may hold other characters; core.converters keeps them reachable.
    external_id = models.CharField(max_length=100, unique=True, validators=[validate_external_id])
    name = models.CharField(max_length=200, db_index=True)
    segment = models.CharField(max_length=50, blank=True, db_index=True)
    csm = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers", verbose_name="CSM"
    )
    licenses = models.PositiveIntegerField(default=0)
    contract_start = models.DateField(null=True, blank=True)
    go_live_date = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True, db_index=True)
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.ONBOARDING, db_index=True
    )
    # Latest health snapshot, denormalised by the health recompute (metrics app) so the Book can sort and
    # filter 100,000 customers by score without a join; the snapshots themselves live in metrics.
    health_score = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True, db_index=True)
    health_band = models.CharField(max_length=10, blank=True, db_index=True)
    health_change_7d = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    health_as_of = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["csm", "name"]),
            # The home dashboard's "biggest health drops" (most negative first): only the falling customers.
            models.Index(
                fields=["health_change_7d"], condition=Q(health_change_7d__lt=0), name="customer_health_drop"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customer_detail", kwargs={"external_id": self.external_id})

    def days_to_renewal(self, today: date | None = None) -> int | None:
        if self.renewal_date is None:
            return None
        return (self.renewal_date - (today or timezone.localdate())).days


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField()
    name = models.CharField(max_length=150, blank=True)
    title = models.CharField(max_length=150, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "email"], name="contact_unique_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class TouchpointKind(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    QBR = "qbr", "QBR"
    ONSITE = "onsite", "Onsite"
    CHAT = "chat", "Chat"
    ADVOCACY = "advocacy", "Advocacy"
    OTHER = "other", "Other"


def book_csm_field() -> models.ForeignKey:
    """A fact row's copy of its customer's *current* CSM (`customer.csm`), for grouping facts by book without
    joining every row to its customer (the team page: dashboard.team).

    The database keeps it, whatever writes the rows (ORM, bulk inserts, raw SQL, COPY): triggers installed by
    metrics migration 0008 fill it on insert (and overwrite any value written to it) and rewrite a customer's
    facts when its CSM changes. On PostgreSQL a CSM change locks the customer FOR UPDATE before it happens and
    a fact's insert reads the CSM FOR KEY SHARE, so an insert in flight during a change is either waited for
    and rewritten or waits and reads the new CSM. On SQLite, a migration that rebuilds one of these tables
    drops its triggers: re-create them (tests/accounts/test_book_csm.py fails otherwise)."""
    return models.ForeignKey(
        User,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.DO_NOTHING,  # customer.csm is SET_NULL: the trigger clears the copies
        db_constraint=False,
        db_index=False,
        related_name="+",
        help_text="The customer's current CSM, kept by the database.",
    )


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Touchpoint(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="touchpoints")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="touchpoints")
    kind = models.CharField(max_length=20, choices=TouchpointKind.choices)
    occurred_at = models.DateTimeField()
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    summary = models.TextField(max_length=TOUCHPOINT_SUMMARY_MAX_LENGTH)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="touchpoints")
    created_at = models.DateTimeField(auto_now_add=True)
    book_csm = book_csm_field()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(fields=["book_csm", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.customer} on {self.occurred_at:%Y-%m-%d}"


PULSE_RUBRIC = {
    1: "Critical: the relationship is broken or the customer is likely to leave.",
    2: "Poor: real problems, unhappy sponsor or stalled adoption.",
    3: "Okay: no big issues, but no clear value or champion either.",
    4: "Good: getting value, engaged sponsor, minor issues only.",
    5: "Excellent: strong champion, clear value, likely to renew and expand.",
}


class Pulse(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="pulses")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="pulses")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    note = models.TextField(blank=True, max_length=PULSE_NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    book_csm = book_csm_field()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["book_csm", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="pulse_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"Pulse {self.score}/5 for {self.customer}"

    @property
    def rubric(self) -> str:
        return PULSE_RUBRIC.get(self.score, "")


class Note(models.Model):
    """Free text a CSM keeps on a customer: context, decisions, @mentions (docs/workspace.md#notes).

    Unlike a touchpoint it is not an interaction with the customer, so it is no health input."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="notes")
    text = models.TextField(max_length=NOTE_TEXT_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="note_customer_created")]

    def __str__(self) -> str:
        return f"Note on {self.customer} by {self.author or 'a former user'}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class ApiToken(models.Model):
    """An API token (docs/api.md#authentication): named, several per user, stored as a SHA-256 hash (the key
    is shown once, at creation), revocable, with an optional expiry."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class DirtyCustomer(models.Model):
    """A customer whose health inputs changed since its health was last computed (docs/health.md#live-data).

    Written in the transaction of every write that changes a factor's input (accounts.dirty), so a broker
    that is down only delays the live recompute: the rows wait here for the next pass. `version` counts the
    marks, so a recompute clears only the marks it saw; `claimed_until` is the lease of the worker on it."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(help_text="The first change not yet reflected in the customer's health.")
    version = models.PositiveIntegerField(default=1)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["since"], name="dirty_customer_since")]

    def __str__(self) -> str:
        return f"{self.customer_id} dirty since {self.since:%Y-%m-%d %H:%M}"


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"


class AuditEntry(models.Model):
    """One change people care about: who, when, what, before → after (docs/workspace.md#audit-log).

    Written by the services that change things (accounts.audit.record), not by database triggers, so the
    embedded SQLite install keeps it too and raw-SQL writes say in their service what they changed.
    `changes` maps each changed field to {"before": …, "after": …} in JSON-safe values; a deletion keeps the
    whole old row under "before". `customer` is the customer it belongs to, when there is one (a contact, a
    touchpoint), so the customer page lists its entries with one indexed query."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="Who acted, kept in words (an import, the API, a deleted user)."
    )
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=100)
    object_repr = models.CharField(max_length=200, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="audit_customer_at"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_at"),
            models.Index(fields=["-at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_repr or self.object_id}"


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to you"
    TURNED_RED = "turned_red", "Turned red in your book"
    SURVEY_ANSWERED = "survey_answered", "Survey answered in your book"
    MENTIONED = "mentioned", "Mentioned in a note"


class Notification(models.Model):
    """One in-app notification (docs/workspace.md#notifications), written by the event subscribers in the
    transaction of what caused it. `emailed_at` is set when an email (at once or in the digest) carried it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_list"),
            # The top bar's unread count: a partial index holding only the unread rows.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
            # The digest's unsent rows.
            models.Index(fields=["user"], condition=Q(emailed_at__isnull=True), name="notification_unsent"),
        ]

    def __str__(self) -> str:
        return self.title


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", "Email each one at once"
    DIGEST = "digest", "One email a day (digest)"
    OFF = "off", "No email, in the app only"


class NotificationSettings(models.Model):
    """How a user hears about notifications: by email (users without a row get them at once) and in their
    team's Slack channel (docs/workspace.md#notifications)."""

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_mode = models.CharField(max_length=10, choices=EmailMode.choices, default=EmailMode.IMMEDIATE)
    slack = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Also post what is assigned to me or mentions me to my team's Slack channel, where set up.",
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.email_mode}"


class SavedView(models.Model):
    """A Book filter saved by name (docs/workspace.md#saved-views): the owner's, or shared with the teams the
    owner belongs to or manages."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, help_text="The Book's query string (filters and sort).")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name
