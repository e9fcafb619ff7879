"""Metrics API (docs/api.md): ingestion (admins) and the metric read endpoints (any signed-in user,
docs/architecture.md#roles-and-permissions). A read endpoint's query parameters are a serializer, which both
validates them and lists them in the OpenAPI schema (`extend_schema(parameters=[…])`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer, User
from accounts.visibility import IsAdminRole
from core import fields
from core.api import (
    IngestAPIView,
    IngestCountsSerializer,
    IngestErrorSerializer,
    ingest_payload,
    ingest_request_schema,
    ingest_response,
)
from core.db import reads_from_replica
from core.numbers import api_rate, quantize_money

from . import services
from .engagement import engagement_metrics
from .models import KeyFeature
from .renewals import RenewalMetrics, renewal_metrics
from .revenue import RevenueMetrics, revenue_metrics
from .scope import Scope
from .serializers import (
    KeyFeatureIngestSerializer,
    KeyFeatureSerializer,
    MrrIngestSerializer,
    RenewalIngestSerializer,
    TicketIngestSerializer,
    validate_usage_events,
)
from .support import SupportMetrics, support_metrics

MAX_PERIOD_DAYS = 366 * 10

# --- Ingestion ------------------------------------------------------------------------------------


class MrrIngestView(IngestAPIView):
    """`POST /api/v1/mrr/`: MRR ledger rows, upserted on (customer, effective_date)."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]
    serializer_class = MrrIngestSerializer
    upsert = services.mrr_upsert


class TicketIngestView(IngestAPIView):
    """`POST /api/v1/tickets/`: support tickets, upserted on external_id."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]
    serializer_class = TicketIngestSerializer
    upsert = services.tickets_upsert


class RenewalIngestView(IngestAPIView):
    """`POST /api/v1/renewals/`: renewals, upserted on (customer, due_date)."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]
    serializer_class = RenewalIngestSerializer
    upsert = services.renewals_upsert


class KeyFeatureListView(generics.ListAPIView):
    """`GET /api/v1/key-features/` (any signed-in user) and `POST` (admins): the features counted for
    adoption."""

    serializer_class = KeyFeatureSerializer
    queryset = KeyFeature.objects.order_by("name")

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.request.method == "POST":
            return [permissions.IsAuthenticated(), IsAdminRole()]
        return [permissions.IsAuthenticated()]

    @extend_schema(summary="List the key features")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create or update key features (admins)",
        description=(
            "One object or a list of up to 10,000, upserted on `name`; an omitted `description` is left as "
            "it was. One invalid object → 400 naming its index and field, and nothing is written."
        ),
        request=ingest_request_schema(KeyFeatureIngestSerializer),
        responses={200: IngestCountsSerializer, 400: IngestErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        return ingest_response(
            ingest_payload(request), KeyFeatureIngestSerializer, services.key_features_upsert
        )


class KeyFeatureDetailView(APIView):
    """`DELETE /api/v1/key-features/<name>/` (admins)."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]

    @extend_schema(
        summary="Remove a key feature (admins)",
        responses={204: None, 404: OpenApiResponse(description="No key feature has this name.")},
    )
    def delete(self, request: Request, name: str) -> Response:
        services.key_feature_delete(user=request.user, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UsageEventSchemaSerializer(serializers.Serializer):
    """One usage event (OpenAPI only: validate_usage_events does the checking, in plain Python for speed)."""

    event_id = fields.CharField(max_length=200, help_text="Unique; re-posting it is counted as a duplicate.")
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    user_id = fields.CharField(max_length=200)
    feature = fields.CharField(max_length=100)
    occurred_at = fields.DateTimeField(help_text="ISO 8601; a time without offset is in TIME_ZONE.")
    quantity = fields.IntegerField(min_value=1, required=False, default=1)


class UsageEventCountsSerializer(serializers.Serializer):
    accepted = fields.IntegerField()
    duplicates = fields.IntegerField()


class UsageEventIngestView(APIView):
    """`POST /api/v1/usage-events/`: product-usage events; answers {"accepted", "duplicates"}."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]

    @extend_schema(
        request=ingest_request_schema(UsageEventSchemaSerializer),
        responses={200: UsageEventCountsSerializer, 400: IngestErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        rows = validate_usage_events(
            ingest_payload(request)
        )  # an IngestError: core.exception_handlers answers 400
        return Response(services.usage_events_ingest(rows=rows), status=status.HTTP_200_OK)


# --- Reads ----------------------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    start = fields.DateField()
    end = fields.DateField()
    csm = fields.EmailField(required=False, help_text="A CSM's email: only their book.")
    segment = fields.CharField(required=False, max_length=50)
    customer = fields.CharField(required=False, max_length=100, help_text="A customer's external_id.")

    def validate_csm(self, value: str) -> User:
        user = User.objects.filter(email__iexact=value).first()
        if user is None:
            raise serializers.ValidationError("No user has this email.")
        return user

    def validate_customer(self, value: str) -> Customer:
        customer = Customer.objects.filter(external_id=value).first()
        if customer is None:
            raise serializers.ValidationError("No customer has this external_id.")
        return customer

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The end must be on or after the start."})
        if (attrs["end"] - attrs["start"]).days > MAX_PERIOD_DAYS:
            raise serializers.ValidationError({"end": "A period may span at most ten years."})
        return attrs

    @property
    def scope(self) -> Scope:
        data = self.validated_data
        return Scope(csm=data.get("csm"), segment=data.get("segment") or None, customer=data.get("customer"))


class EngagementParamsSerializer(serializers.Serializer):
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    as_of = fields.DateField(required=False, help_text="Default: today.")

    def validate_customer(self, value: str) -> Customer:
        return PeriodSerializer().validate_customer(value)


def _money(value: Decimal | None) -> str | None:
    """Money as the API answers it (docs/api.md): a decimal string with two places; null stays null."""
    return None if value is None else str(quantize_money(value))


MONEY_FIELDS = {
    "mrr_start",
    "mrr_end",
    "arr_end",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "arpa",
    "clv",
    "arr_due",
}


def render_metrics(obj: Any, fields: list[str]) -> dict[str, Any]:
    """Money as 2-place decimal strings, other Decimals as rounded rates, ints and dates as they are."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if name in MONEY_FIELDS:
            out[name] = _money(value)
        elif isinstance(value, Decimal) or (
            value is None and name not in ("time_to_value_days", "days_to_onboard")
        ):
            out[name] = api_rate(value)
        elif isinstance(value, dt.date):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out


def _fields(cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in skip]


def _money_field() -> serializers.CharField:
    return fields.CharField(help_text="Decimal string, 2 places.")


def _rate_field() -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text="Decimal fraction; null when undefined.")


class RevenueResponseSerializer(serializers.Serializer):
    mrr_start = _money_field()
    mrr_end = _money_field()
    arr_end = _money_field()
    customers_start = fields.IntegerField()
    customers_end = fields.IntegerField()
    new_customers = fields.IntegerField()
    churned_customers = fields.IntegerField()
    new_mrr = _money_field()
    expansion_mrr = _money_field()
    contraction_mrr = _money_field()
    churned_mrr = _money_field()
    reactivation_mrr = _money_field()
    nrr = _rate_field()
    grr = _rate_field()
    customer_retention_rate = _rate_field()
    customer_churn_rate = _rate_field()
    gross_mrr_churn_rate = _rate_field()
    net_mrr_churn_rate = _rate_field()
    quick_ratio = serializers.FloatField(allow_null=True)
    arpa = fields.CharField(allow_null=True)
    clv = fields.CharField(allow_null=True)


class EngagementResponseSerializer(serializers.Serializer):
    customer = fields.CharField()
    as_of = fields.DateField()
    licenses = fields.IntegerField()
    users_total = fields.IntegerField()
    active_users_30d = fields.IntegerField()
    license_utilization = _rate_field()
    product_adoption_rate = _rate_field()
    dau_mau = _rate_field()
    feature_adoption = serializers.DictField(child=serializers.FloatField(allow_null=True))
    time_to_value_days = fields.IntegerField(allow_null=True)
    days_to_onboard = fields.IntegerField(allow_null=True)


class SupportResponseSerializer(serializers.Serializer):
    tickets_opened = fields.IntegerField()
    tickets_resolved = fields.IntegerField()
    open_tickets = fields.IntegerField()
    avg_resolution_hours = serializers.FloatField(allow_null=True)
    first_contact_resolution_rate = _rate_field()


class RenewalsResponseSerializer(serializers.Serializer):
    renewals_due = fields.IntegerField()
    renewed = fields.IntegerField()
    churned = fields.IntegerField()
    pending = fields.IntegerField()
    arr_due = _money_field()
    logo_renewal_rate = _rate_field()
    gross_renewal_rate = _rate_field()
    net_renewal_rate = _rate_field()


class RevenueMetricsView(APIView):
    """`GET /api/v1/metrics/revenue/?start=&end=[&csm=&segment=]`"""

    @extend_schema(parameters=[PeriodSerializer], responses=RevenueResponseSerializer)
    @reads_from_replica()
    def get(self, request: Request) -> Response:
        params = PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = revenue_metrics(
            scope=params.scope, start=params.validated_data["start"], end=params.validated_data["end"]
        )
        return Response(render_metrics(result, _fields(RevenueMetrics, skip=("start", "end"))))


class EngagementMetricsView(APIView):
    """`GET /api/v1/metrics/engagement/?customer=&as_of=`"""

    @extend_schema(parameters=[EngagementParamsSerializer], responses=EngagementResponseSerializer)
    @reads_from_replica()
    def get(self, request: Request) -> Response:
        params = EngagementParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        as_of = params.validated_data.get("as_of") or timezone.localdate()
        m = engagement_metrics(customer=params.validated_data["customer"], as_of=as_of)
        body = render_metrics(
            m,
            [
                "licenses",
                "users_total",
                "active_users_30d",
                "license_utilization",
                "product_adoption_rate",
                "dau_mau",
                "time_to_value_days",
                "days_to_onboard",
            ],
        )
        body["feature_adoption"] = {f: api_rate(r) for f, r in m.feature_adoption.items()}
        return Response({"customer": m.customer.external_id, "as_of": as_of.isoformat(), **body})


class SupportMetricsView(APIView):
    """`GET /api/v1/metrics/support/?start=&end=[&customer=&csm=&segment=]`"""

    @extend_schema(parameters=[PeriodSerializer], responses=SupportResponseSerializer)
    @reads_from_replica()
    def get(self, request: Request) -> Response:
        params = PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        m = support_metrics(
            scope=params.scope, start=params.validated_data["start"], end=params.validated_data["end"]
        )
        body = render_metrics(m, _fields(SupportMetrics, skip=("start", "end", "avg_resolution_hours")))
        hours = m.avg_resolution_hours
        body["avg_resolution_hours"] = None if hours is None else float(round(hours, 2))
        return Response(body)


class RenewalMetricsView(APIView):
    """`GET /api/v1/metrics/renewals/?start=&end=[&csm=&segment=]`"""

    @extend_schema(parameters=[PeriodSerializer], responses=RenewalsResponseSerializer)
    @reads_from_replica()
    def get(self, request: Request) -> Response:
        params = PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        m = renewal_metrics(
            scope=params.scope, start=params.validated_data["start"], end=params.validated_data["end"]
        )
        return Response(render_metrics(m, _fields(RenewalMetrics, skip=("start", "end"))))
