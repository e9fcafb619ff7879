"""`GET /api/v1/health/backtest/` and `GET /api/v1/health/backtest/jobs/<id>/` (docs/api.md#backtest): a
health model version's backtest, answered from a finished job or computed by one in the background."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import BacktestKind, HealthBacktestJob, RecomputeState
from .backtest_jobs import MAX_MONTHS, backtest_job_ask, backtest_job_for_user, question_validate


class BacktestQuerySerializer(serializers.Serializer):
    model = serializers.IntegerField(
        required=False, min_value=1, help_text="A model version (default: the version in force)."
    )
    refresh = serializers.BooleanField(
        required=False, default=False, help_text="1: compute again even if a finished report exists."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword, so it cannot be a class attribute.
        return {
            "from": serializers.DateField(
                required=False, help_text="First as-of day (YYYY-MM-DD); the as-of dates are month starts."
            ),
            "to": serializers.DateField(required=False, help_text="Last as-of day (YYYY-MM-DD), included."),
            **super().get_fields(),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A django ValidationError from the service becomes the serializer's {field: [messages]}.
        attrs["question"] = question_validate(
            kind=BacktestKind.BACKTEST,
            start=attrs.get("from"),
            end=attrs.get("to"),
            version=attrs.get("model"),
        )
        return attrs


class BacktestJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=BacktestKind.choices)
    model_version = serializers.IntegerField(source="model.version", allow_null=True)
    state = serializers.ChoiceField(choices=RecomputeState.choices)
    done = serializers.IntegerField(
        help_text="Steps done (the backtest's own: customers scored on an as-of date)."
    )
    total = serializers.IntegerField(help_text="Steps in all; 0 until the job has started.")
    requested_by = serializers.EmailField(source="requested_by.email", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    computed_at = serializers.DateTimeField(
        source="finished_at", allow_null=True, help_text="When the report was computed (the job ended)."
    )
    error = serializers.CharField(help_text="Why a failed job failed; empty otherwise.")
    poll = serializers.SerializerMethodField(help_text="The URL that answers this job as it is now.")
    report = serializers.SerializerMethodField(
        help_text="When done: the report (docs/api.md#backtest lists its keys); null before."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        return {
            "id": fields.pop("id"),
            "from": serializers.DateField(source="start"),
            "to": serializers.DateField(source="end"),
            **fields,
        }

    def get_poll(self, job: HealthBacktestJob) -> str:
        path = reverse("api_health_backtest_job", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_report(self, job: HealthBacktestJob) -> dict[str, Any] | None:
        return job.result if job.state == RecomputeState.DONE else None


def _answer(job: HealthBacktestJob, request: Request) -> Response:
    code = status.HTTP_202_ACCEPTED if job.running else status.HTTP_200_OK
    return Response(BacktestJobSerializer(job, context={"request": request}).data, status=code)


class BacktestView(APIView):
    """Managers and admins run the backtest; CSMs may view one already computed
    (docs/architecture.md#roles-and-permissions)."""

    @extend_schema(
        summary="A health model version's backtest",
        description=(
            "The backtest of `model` (default: the version in force) over the month starts of "
            f"[`from`, `to`] (default: twelve, ending 90 days ago; at most {MAX_MONTHS}). A finished report "
            "answers 200 with `computed_at`; otherwise a background job starts (or the one at work is "
            "found) and the answer is 202 with the job and `poll`, the URL to ask again. `refresh=1` "
            "computes anew. Managers and admins; a CSM gets a finished report, or 403."
        ),
        parameters=[BacktestQuerySerializer],
        responses={
            200: BacktestJobSerializer,
            202: BacktestJobSerializer,
            400: OpenApiResponse(
                description="Bad `from`/`to`/`model`; `to` before `from`; no month start, too many; "
                "an unknown version."
            ),
            403: OpenApiResponse(description="A CSM asking for a report not computed yet, or refresh."),
        },
    )
    def get(self, request: Request) -> Response:
        query = BacktestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        job = backtest_job_ask(user=request.user, question=params["question"], refresh=params["refresh"])
        if job.running:  # inline when tasks run eagerly: answer the job as it is after the commit
            job = backtest_job_for_user(user=request.user, job_id=job.pk)
        return _answer(job, request)


class BacktestJobView(APIView):
    @extend_schema(
        summary="A backtest job as it is now",
        description="202 while it is queued or running, 200 once it has ended (`done` with the report, or "
        "`failed` with `error`).",
        responses={
            200: BacktestJobSerializer,
            202: BacktestJobSerializer,
            404: OpenApiResponse(description="No such job."),
        },
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = backtest_job_for_user(user=request.user, job_id=job_id)  # unknown: DoesNotExist, a 404
        return _answer(job, request)
