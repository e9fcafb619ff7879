"""API validation for people and customers (docs/api.md). Serializers validate; services write."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core import fields, timeline

from .models import (
    NOTE_TEXT_MAX_LENGTH,
    PULSE_NOTE_MAX_LENGTH,
    TOUCHPOINT_SUMMARY_MAX_LENGTH,
    Customer,
    LifecycleStage,
    Note,
    Pulse,
    Sentiment,
    Touchpoint,
    TouchpointKind,
    User,
)
from .services import validate_not_in_future

# PositiveIntegerField's range on every database Django supports.
MAX_LICENSES = 2_147_483_647


class CustomerIngestSerializer(serializers.Serializer):
    """One customer of `POST /api/v1/customers/` (or a CSV row); an omitted optional field is left alone."""

    external_id = fields.ExternalIdField()
    name = fields.CharField(max_length=200, multiline=False)
    segment = fields.CharField(max_length=50, required=False, allow_blank=True, allow_null=True)
    csm_email = fields.EmailField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Email of an active cshub user; empty or null removes the CSM.",
    )
    licenses = fields.IntegerField(min_value=0, max_value=MAX_LICENSES, required=False)
    contract_start = fields.DateField(required=False, allow_null=True)
    go_live_date = fields.DateField(required=False, allow_null=True)
    renewal_date = fields.DateField(required=False, allow_null=True)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)

    def validate_segment(self, value: str | None) -> str:
        return (value or "").strip()

    def validate_csm_email(self, value: str | None) -> str:
        # Resolved to a user by customers_upsert, in one query for the whole request.
        return (value or "").strip().lower()


class ContactIngestSerializer(serializers.Serializer):
    """One contact of `POST /api/v1/contacts/`; upserted on (customer, email)."""

    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    email = fields.EmailField()
    name = fields.CharField(max_length=150, required=False, allow_blank=True, allow_null=True)
    title = fields.CharField(max_length=150, required=False, allow_blank=True, allow_null=True)

    def validate_email(self, value: str) -> str:
        return value.strip().lower()

    def validate_name(self, value: str | None) -> str:
        return value or ""

    def validate_title(self, value: str | None) -> str:
        return value or ""


class _BlankAsNull(serializers.CharField):
    def to_representation(self, value: Any) -> str | None:
        return str(value) if value else None


class CustomerSerializer(serializers.ModelSerializer):
    """A customer as `GET /api/v1/customers/` shows it; health is the latest nightly snapshot (or null)."""

    csm = fields.EmailField(source="csm.email", read_only=True, allow_null=True, help_text="CSM's email.")
    csm_name = fields.CharField(source="csm.get_full_name", read_only=True, allow_null=True)
    contacts_count = fields.IntegerField(read_only=True)
    health_band = _BlankAsNull(read_only=True, allow_null=True, help_text="green, yellow, red or null.")

    class Meta:
        model = Customer
        fields = [
            "external_id",
            "name",
            "segment",
            "csm",
            "csm_name",
            "licenses",
            "contract_start",
            "go_live_date",
            "renewal_date",
            "lifecycle_stage",
            "contacts_count",
            "health_score",
            "health_band",
            "health_change_7d",
            "health_as_of",
        ]
        read_only_fields = fields


class _CustomerByExternalId(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The customer's external_id.")
        super().__init__(slug_field="external_id", queryset=Customer.objects.all(), **kwargs)


class TouchpointSerializer(serializers.ModelSerializer):
    """`POST /api/v1/touchpoints/`: log a call, meeting, QBR… on a customer you may edit
    (docs/architecture.md#roles-and-permissions)."""

    customer = _CustomerByExternalId()
    kind = serializers.ChoiceField(choices=TouchpointKind.choices)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False, allow_blank=True)
    occurred_at = fields.DateTimeField(help_text="ISO 8601; a time without offset is in TIME_ZONE.")
    summary = fields.CharField(max_length=TOUCHPOINT_SUMMARY_MAX_LENGTH)
    author = fields.EmailField(source="author.email", read_only=True, allow_null=True)

    class Meta:
        model = Touchpoint
        fields = ["id", "customer", "kind", "occurred_at", "sentiment", "summary", "author", "created_at"]
        read_only_fields = ["id", "author", "created_at"]

    def validate_occurred_at(self, value: Any) -> Any:
        try:
            validate_not_in_future(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class PulseSerializer(serializers.ModelSerializer):
    """`POST /api/v1/pulses/`: the CSM's 1-5 read of the relationship."""

    customer = _CustomerByExternalId()
    score = fields.IntegerField(min_value=1, max_value=5)
    note = fields.CharField(max_length=PULSE_NOTE_MAX_LENGTH, required=False, allow_blank=True)
    author = fields.EmailField(source="author.email", read_only=True, allow_null=True)
    rubric = fields.CharField(read_only=True)

    class Meta:
        model = Pulse
        fields = ["id", "customer", "score", "note", "rubric", "author", "created_at"]
        read_only_fields = ["id", "rubric", "author", "created_at"]


class NoteSerializer(serializers.ModelSerializer):
    """`POST /api/v1/notes/`: a note on a customer you may log on (docs/workspace.md#notes)."""

    customer = _CustomerByExternalId()
    text = fields.CharField(max_length=NOTE_TEXT_MAX_LENGTH)
    author = fields.EmailField(source="author.email", read_only=True, allow_null=True)

    class Meta:
        model = Note
        fields = ["id", "customer", "text", "author", "created_at", "updated_at"]
        read_only_fields = ["id", "author", "created_at", "updated_at"]


# --- PATCH of a log: only the fields people may change; the customer and author stay -----------------------


class TouchpointUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TouchpointKind.choices, required=False)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False, allow_blank=True)
    occurred_at = fields.DateTimeField(
        required=False, help_text="ISO 8601; a time without offset is in TIME_ZONE."
    )
    summary = fields.CharField(max_length=TOUCHPOINT_SUMMARY_MAX_LENGTH, required=False)

    def validate_occurred_at(self, value: Any) -> Any:
        try:
            validate_not_in_future(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class PulseUpdateSerializer(serializers.Serializer):
    score = fields.IntegerField(min_value=1, max_value=5, required=False)
    note = fields.CharField(max_length=PULSE_NOTE_MAX_LENGTH, required=False, allow_blank=True)


class NoteUpdateSerializer(serializers.Serializer):
    text = fields.CharField(max_length=NOTE_TEXT_MAX_LENGTH)


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, k) for k in timeline.KINDS])
    at = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField()
    actor = serializers.CharField(help_text="Who acted, in words; empty when nobody did (a ticket, MRR).")


class TimelinePageSerializer(serializers.Serializer):
    results = TimelineEntrySerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next (older) page; null on the last.")


class SearchCustomerSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()
    segment = serializers.CharField()
    csm = serializers.CharField(help_text="The CSM's name; empty when unassigned.")
    url = serializers.CharField(help_text="The customer page.")


class SearchContactSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text="The customer's external_id.")
    customer_name = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()


class SearchTextSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("touchpoint", "touchpoint"), ("note", "note")])
    id = serializers.IntegerField()
    customer = serializers.CharField(help_text="The customer's external_id.")
    customer_name = serializers.CharField()
    at = serializers.DateTimeField()
    author = serializers.CharField()
    snippet = serializers.CharField(help_text="The text around the first match.")
    url = serializers.CharField()


class SearchResultsSerializer(serializers.Serializer):
    customers = SearchCustomerSerializer(many=True)
    contacts = SearchContactSerializer(many=True)
    notes = SearchTextSerializer(many=True, help_text="Touchpoint and note text hits.")


class CustomerPatchSerializer(serializers.Serializer):
    """`PATCH /api/v1/customers/<external_id>/` (managers: their teams' customers; admins: all): the fields a
    person edits in the app (docs/workspace.md#editing-in-the-app); an omitted field is left alone."""

    csm_email = fields.EmailField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="An active user; empty or null unassigns.",
    )
    renewal_date = fields.DateField(required=False, allow_null=True)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    licenses = fields.IntegerField(min_value=0, max_value=MAX_LICENSES, required=False)
    segment = fields.CharField(max_length=50, required=False, allow_blank=True, allow_null=True)

    def validate_csm_email(self, value: str | None) -> User | None:
        if not value:
            return None
        user = User.objects.filter(email__iexact=value.strip(), is_active=True).first()
        if user is None:
            raise serializers.ValidationError("No active cshub user has this email.")
        return user

    def validate_segment(self, value: str | None) -> str:
        return (value or "").strip()

    def changes(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if "csm_email" in data:
            data["csm"] = data.pop("csm_email")
        return data
