"""Health API (docs/api.md): a customer's latest health with its components, its daily history, and every
customer's snapshot of a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer
from accounts.visibility import IsAdminRole
from core import fields

from .filters import SnapshotDayFilter
from .recompute_jobs import recompute_job, recompute_job_start
from .selectors import customer_health, health_history, health_history_between, snapshots_of_day

MAX_HISTORY_DAYS = 730
MAX_HISTORY_RANGE_DAYS = 3660


class BlankAsNullCharField(serializers.CharField):
    """A band: stored as "" when there is none, answered as null."""

    def to_representation(self, value: Any) -> str | None:
        return value or None


class ComponentSerializer(serializers.Serializer):
    factor = fields.CharField()
    raw_value = serializers.FloatField(allow_null=True, help_text="Null: no data (the factor is missing).")
    score = serializers.FloatField(allow_null=True, help_text="Factor score 0-100.")
    weight = serializers.FloatField(allow_null=True, help_text="Weight after rescaling, % of the score.")
    contribution = serializers.FloatField(allow_null=True, help_text="Points of the score; they sum to it.")


class HealthSerializer(serializers.Serializer):
    as_of = fields.DateField(allow_null=True)
    score = fields.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, help_text="0-100; null: not enough data."
    )
    band = fields.CharField(allow_null=True, help_text="green, yellow, red or null.")
    model_version = fields.IntegerField(allow_null=True)
    components = ComponentSerializer(many=True)
    change_7d = fields.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    change_30d = fields.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class HistoryPointSerializer(serializers.Serializer):
    date = fields.DateField()
    score = fields.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    band = fields.CharField(allow_null=True)


class HistoryQuerySerializer(serializers.Serializer):
    """`days` alone (the default): the last `days` days up to today. `from` and/or `to` pick the range
    instead: `from` alone runs to today, `to` alone goes back `days` days (default 90) from it."""

    days = fields.IntegerField(min_value=1, max_value=MAX_HISTORY_DAYS, default=90)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword, so it cannot be a class attribute.
        return {
            **super().get_fields(),
            "from": fields.DateField(required=False, help_text="First day (YYYY-MM-DD), included."),
            "to": fields.DateField(required=False, help_text="Last day (YYYY-MM-DD), included."),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start is None and end is None:
            return attrs
        if start is not None and "days" in self.initial_data:
            raise serializers.ValidationError({"days": "Give either `days` or `from`, not both."})
        end = end or timezone.localdate()
        start = start or end - dt.timedelta(days=attrs["days"] - 1)
        if start > end:
            raise serializers.ValidationError({"from": "Must not be after `to` (default: today)."})
        if (end - start).days + 1 > MAX_HISTORY_RANGE_DAYS:
            raise serializers.ValidationError(
                {"from": f"The range may span at most {MAX_HISTORY_RANGE_DAYS} days."}
            )
        return {**attrs, "from": start, "to": end}


class SnapshotSerializer(serializers.Serializer):
    customer = fields.CharField(source="customer__external_id", help_text="The customer's external_id.")
    date = fields.DateField()
    score = fields.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, help_text="0-100; null: not enough data."
    )
    band = BlankAsNullCharField(allow_null=True, help_text="green, yellow, red or null.")
    model_version = fields.IntegerField(source="model__version")


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
        description=(
            "The last `days` days up to today (1-730, default 90). Or a range: `from` and `to` (YYYY-MM-DD, "
            f"both included, at most {MAX_HISTORY_RANGE_DAYS} days); `from` alone runs to today, `to` alone "
            "goes back `days` days from it. `from` after `to`, a longer range, or `days` with `from`: 400 "
            "naming the field."
        ),
        parameters=[HistoryQuerySerializer],
        responses={
            200: HistoryPointSerializer(many=True),
            400: OpenApiResponse(
                description="Bad `days`, `from` or `to`; `from` after `to`; a range too long."
            ),
            404: _NOT_FOUND,
        },
    )
    def get(self, request: Request, external_id: str) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = get_object_or_404(Customer.objects.only("pk"), external_id=external_id)
        params = query.validated_data
        if "from" in params:
            points = health_history_between(customer=customer, start=params["from"], end=params["to"])
        else:
            points = health_history(customer=customer, days=params["days"])
        for p in points:
            p["band"] = p["band"] or None
        return Response(HistoryPointSerializer(points, many=True).data)


class HealthSnapshotListView(generics.ListAPIView):
    """`GET /api/v1/health-snapshots/?date=`: every customer's snapshot of a day, for any signed-in user (any
    user reads any customer's health, docs/architecture.md#roles-and-permissions)."""

    serializer_class = SnapshotSerializer
    filterset_class = SnapshotDayFilter  # ?date= (required), csm=, segment=

    def get_queryset(self) -> Any:
        return snapshots_of_day()

    @extend_schema(
        summary="Every customer's health snapshot of a day",
        description="Paginated, in customer order; filter by CSM email and segment.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- Recompute a range of days (admins) --------------------------------------------------------------------


class RecomputeRequestSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": fields.DateField(help_text="First day (YYYY-MM-DD), included."),
            "to": fields.DateField(help_text="Last day, included: today at the latest, ≤ 366 days in all."),
        }


class RecomputeJobSerializer(serializers.Serializer):
    id = fields.IntegerField()
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    days_done = fields.IntegerField(help_text="Days computed so far.")
    days_total = fields.IntegerField()
    snapshots = fields.IntegerField(help_text="Snapshots written so far.")
    model_version = fields.IntegerField(
        source="model.version", allow_null=True, help_text="Set when the job starts."
    )
    requested_by = fields.EmailField(source="requested_by.email", allow_null=True)
    created_at = fields.DateTimeField()
    started_at = fields.DateTimeField(allow_null=True)
    finished_at = fields.DateTimeField(allow_null=True)
    error = fields.CharField(help_text="Why a failed job failed; empty otherwise.")

    def get_fields(self) -> dict[str, serializers.Field]:
        declared = super().get_fields()
        return {
            "id": declared.pop("id"),
            "from": fields.DateField(source="start"),
            "to": fields.DateField(source="end"),
            **declared,
        }


class RecomputeStartView(APIView):
    """`POST /api/v1/health/recompute/` (admins): queue the recompute of a range of days."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]

    @extend_schema(
        summary="Recompute health for a range of days (admins)",
        description=(
            "Runs in the background as `manage.py recompute_health --from --to` does; poll "
            "`GET /api/v1/health/recompute/<id>/` for its progress."
        ),
        request=RecomputeRequestSerializer,
        responses={
            202: RecomputeJobSerializer,
            400: OpenApiResponse(
                description="Bad `from`/`to`, `to` before `from` or after today, > 366 days."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = RecomputeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = recompute_job_start(
            user=request.user, start=data.validated_data["from"], end=data.validated_data["to"]
        )
        job = recompute_job(job_id=job.pk)  # as it is after commit (an eager run has finished it)
        return Response(RecomputeJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class RecomputeJobView(APIView):
    """`GET /api/v1/health/recompute/<id>/` (admins): a recompute job's state and progress."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]

    @extend_schema(
        summary="A health recompute job's state and progress (admins)",
        responses={200: RecomputeJobSerializer, 404: OpenApiResponse(description="No such job.")},
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(RecomputeJobSerializer(recompute_job(job_id=job_id)).data)
