"""`GET /api/v1/metrics/team/` (docs/api.md): the team page's rows and total as JSON."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import fields
from core.db import reads_from_replica

from . import team

MAX_PERIOD_DAYS = 366 * 10


class TeamParamsSerializer(serializers.Serializer):
    start = fields.DateField(help_text="First day, YYYY-MM-DD.")
    end = fields.DateField(help_text="Last day, YYYY-MM-DD (inclusive).")

    def validate(self, attrs: dict) -> dict:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The end must be on or after the start."})
        if (attrs["end"] - attrs["start"]).days > MAX_PERIOD_DAYS:
            raise serializers.ValidationError({"end": "A period may span at most ten years."})
        return attrs


class TeamMetricsView(APIView):
    """One row per CSM the caller manages (admins: every CSM) and the total over their books. CSMs: 403."""

    @extend_schema(
        parameters=[TeamParamsSerializer],
        responses=inline_serializer(
            "TeamMetrics",
            {
                "start": fields.DateField(),
                "end": fields.DateField(),
                "as_of": fields.DateField(),
                "rows": serializers.ListField(child=serializers.DictField()),
                "total": serializers.DictField(),
            },
        ),
    )
    @reads_from_replica()
    def get(self, request: Request) -> Response:
        params = TeamParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        perf = team.team_performance(
            viewer=request.user,
            start=params.validated_data["start"],
            end=params.validated_data["end"],
            today=timezone.localdate(),
        )
        return Response(
            {
                "start": perf.start,
                "end": perf.end,
                "as_of": perf.as_of,
                "rows": [team.row_data(r) for r in perf.rows],
                "total": team.row_data(perf.total),
            }
        )
