"""Health API (docs/api.md): a customer's latest health with its components, and its daily history."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer

from .selectors import customer_health, health_history

MAX_HISTORY_DAYS = 730


class ComponentSerializer(serializers.Serializer):
    factor = serializers.CharField()
    raw_value = serializers.FloatField(allow_null=True, help_text="Null: no data (the factor is missing).")
    score = serializers.FloatField(allow_null=True, help_text="Factor score 0-100.")
    weight = serializers.FloatField(allow_null=True, help_text="Weight after rescaling, % of the score.")
    contribution = serializers.FloatField(allow_null=True, help_text="Points of the score; they sum to it.")


class HealthSerializer(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True)
    score = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, help_text="0-100; null: not enough data."
    )
    band = serializers.CharField(allow_null=True, help_text="green, yellow, red or null.")
    model_version = serializers.IntegerField(allow_null=True)
    components = ComponentSerializer(many=True)
    change_7d = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    change_30d = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class HistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    score = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    band = serializers.CharField(allow_null=True)


class HistoryQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_HISTORY_DAYS, default=90)


_NOT_FOUND = OpenApiResponse(description="No customer with this external_id.")


class CustomerHealthView(APIView):
    """Any signed-in user reads any customer's health (docs/architecture.md#roles-and-permissions)."""

    @extend_schema(summary="A customer's latest health", responses={200: HealthSerializer, 404: _NOT_FOUND})
    def get(self, request: Request, external_id: str) -> Response:
        customer = get_object_or_404(Customer.objects.only("pk"), external_id=external_id)
        summary = customer_health(customer=customer)
        snap = summary.snapshot
        data: dict[str, Any] = {
            "as_of": summary.as_of,
            "score": snap.score if snap else None,
            "band": (snap.band or None) if snap else None,
            "model_version": snap.model.version if snap else None,
            "components": snap.components if snap else [],
            "change_7d": summary.change_7d,
            "change_30d": summary.change_30d,
        }
        return Response(HealthSerializer(data).data)


class CustomerHealthHistoryView(APIView):
    @extend_schema(
        summary="A customer's daily health history",
        parameters=[HistoryQuerySerializer],
        responses={
            200: HistoryPointSerializer(many=True),
            400: OpenApiResponse(description="Bad `days`."),
            404: _NOT_FOUND,
        },
    )
    def get(self, request: Request, external_id: str) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = get_object_or_404(Customer.objects.only("pk"), external_id=external_id)
        points = health_history(customer=customer, days=query.validated_data["days"])
        for p in points:
            p["band"] = p["band"] or None
        return Response(HistoryPointSerializer(points, many=True).data)
