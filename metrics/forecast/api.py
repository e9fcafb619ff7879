"""The renewals forecast API (docs/api.md#renewals-forecast): `PATCH /api/v1/renewals/<id>/` sets a renewal's
forecast; `GET /api/v1/metrics/renewals/forecast/?quarter=2027-Q1[&csm=]` answers a quarter's figures and
renewals (docs/renewals.md). Outcomes come in through `POST /api/v1/renewals/` or the app."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.visibility import scope_csm_ids
from core import fields
from core.numbers import quantize_money

from ..models import ForecastCategory, Renewal
from ..renewal_rules import at_risk_rate, with_expected
from . import selectors, services
from .quarters import Quarter, parse_quarter

CATEGORY_CHOICES = [("", "none"), *ForecastCategory.choices]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(quantize_money(value))


class RenewalForecastPatchSerializer(serializers.Serializer):
    category = serializers.ChoiceField(
        choices=CATEGORY_CHOICES,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="commit, likely, at_risk or lost; empty or null clears the forecast.",
    )
    expected_arr = fields.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="Overrides the category's rule; null goes back to the rule.",
    )
    note = fields.CharField(max_length=500, required=False, allow_blank=True)


class RenewalForecastSerializer(serializers.Serializer):
    id = fields.IntegerField()
    customer = fields.CharField(help_text="The customer's external_id.")
    due_date = fields.DateField()
    arr_due = fields.CharField(help_text="Decimal string, 2 places.")
    category = fields.CharField(help_text="commit, likely, at_risk, lost or empty (none yet).")
    expected_arr = fields.CharField(allow_null=True, help_text="Null without a category.")
    expected_arr_overridden = serializers.BooleanField()
    note = fields.CharField()
    outcome = fields.CharField()
    renewed_arr = fields.CharField(allow_null=True)


def renewal_data(renewal: Renewal) -> dict[str, Any]:
    """A renewal as the PATCH answers it (`renewal` annotated by renewal_rules.with_expected)."""
    return {
        "id": renewal.pk,
        "customer": renewal.customer.external_id,
        "due_date": renewal.due_date.isoformat(),
        "arr_due": _money(renewal.arr_due),
        "category": renewal.category,
        "expected_arr": _money(renewal.expected),
        "expected_arr_overridden": renewal.expected_arr_override is not None,
        "note": renewal.forecast_note,
        "outcome": renewal.outcome,
        "renewed_arr": _money(renewal.renewed_arr),
    }


class RenewalForecastView(APIView):
    """`PATCH /api/v1/renewals/<id>/`: the CSM (their manager, an admin) sets category, expected_arr, note."""

    @extend_schema(
        summary="Set a renewal's forecast",
        request=RenewalForecastPatchSerializer,
        responses={
            200: RenewalForecastSerializer,
            400: OpenApiResponse(description="Field messages; nothing written."),
            403: OpenApiResponse(description="Not a customer you are responsible for."),
            404: OpenApiResponse(description="No renewal has this id."),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        renewal = get_object_or_404(Renewal.objects.select_related("customer"), pk=pk)
        params = RenewalForecastPatchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        kwargs: dict[str, Any] = {}
        if "category" in data:
            kwargs["category"] = data["category"] or ""
        if "expected_arr" in data:
            kwargs["expected_arr"] = data["expected_arr"]
        if "note" in data:
            kwargs["note"] = data["note"]
        services.renewal_forecast_set(user=request.user, renewal=renewal, **kwargs)
        today = timezone.localdate()
        fresh = with_expected(Renewal.objects.select_related("customer"), at_risk_rate(today)).get(pk=pk)
        return Response(renewal_data(fresh))


class ForecastParamsSerializer(serializers.Serializer):
    quarter = fields.CharField(max_length=7, help_text="A calendar quarter, YYYY-Qn (2027-Q1).")
    csm = fields.EmailField(required=False, help_text="A CSM's email: only their book.")

    def validate_quarter(self, value: str) -> Quarter:
        quarter = parse_quarter(value)
        if quarter is None:
            raise serializers.ValidationError("Enter a quarter as YYYY-Qn, e.g. 2027-Q1.")
        return quarter

    def validate_csm(self, value: str) -> User:
        user = User.objects.filter(email__iexact=value).first()
        if user is None:
            raise serializers.ValidationError("No user has this email.")
        return user


class ForecastRenewalSerializer(serializers.Serializer):
    customer = fields.CharField()
    due_date = fields.DateField()
    arr_due = fields.CharField()
    category = fields.CharField()
    expected_arr = fields.CharField(allow_null=True)
    outcome = fields.CharField()


class ForecastSerializer(serializers.Serializer):
    arr_due = fields.CharField()
    commit_arr = fields.CharField()
    likely_arr = fields.CharField()
    at_risk_arr = fields.CharField()
    lost_arr = fields.CharField()
    uncategorized_arr = fields.CharField()
    expected_arr = fields.CharField()
    renewed_arr = fields.CharField()
    churned_arr = fields.CharField()
    open_arr = fields.CharField()
    renewals = ForecastRenewalSerializer(many=True)


FORECAST_MONEY = [
    "arr_due",
    "commit_arr",
    "likely_arr",
    "at_risk_arr",
    "lost_arr",
    "uncategorized_arr",
    "expected_arr",
    "renewed_arr",
    "churned_arr",
    "open_arr",
]


def forecast_scope(viewer: User, csm: User | None) -> tuple[int, ...] | None:
    """The CSM ids a forecast covers: the viewer's scope (a CSM their book, a manager their teams, an admin
    all), narrowed to one CSM; a CSM outside it is PermissionDenied."""
    ids = scope_csm_ids(viewer)
    if csm is None:
        return ids
    if ids is not None and csm.pk not in ids:
        raise PermissionDenied("That CSM's book is outside your teams.")
    return (csm.pk,)


class RenewalForecastMetricsView(APIView):
    """`GET /api/v1/metrics/renewals/forecast/?quarter=&csm=`: over the caller's scope (a CSM their book, a
    manager their teams, an admin everything). Three queries whatever the size."""

    @extend_schema(parameters=[ForecastParamsSerializer], responses=ForecastSerializer)
    def get(self, request: Request) -> Response:
        params = ForecastParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        quarter = params.validated_data["quarter"]
        csm_ids = forecast_scope(request.user, params.validated_data.get("csm"))
        today = timezone.localdate()
        result = selectors.forecast(quarter=quarter, csm_ids=csm_ids, today=today)
        body: dict[str, Any] = {name: _money(getattr(result.total, name)) for name in FORECAST_MONEY}
        rows = selectors.forecast_renewals(
            quarter=quarter, csm_ids=csm_ids, today=today, rate=result.at_risk_rate
        ).values_list("customer__external_id", "due_date", "arr_due", "category", "expected", "outcome")
        body["renewals"] = [
            {
                "customer": customer,
                "due_date": due.isoformat(),
                "arr_due": _money(arr_due),
                "category": category,
                "expected_arr": _money(expected),
                "outcome": outcome,
            }
            for customer, due, arr_due, category, expected, outcome in rows.iterator(chunk_size=2000)
        ]
        return Response(body)
