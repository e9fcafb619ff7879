"""Survey API (docs/api.md): send a campaign, import answer history, survey metrics. Views stay thin: what a
service raises is answered by core.exception_handlers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer
from accounts.visibility import IsAdminRole, editable_customers
from core import fields
from core.api import IngestAPIView

from .models import Kind
from .scores import survey_score
from .selectors import responses_filtered
from .serializers import ResponseImportSerializer
from .services import campaign_send, responses_import


class CampaignCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    customers = serializers.ListField(
        child=fields.CharField(max_length=100),
        required=False,
        max_length=10_000,
        help_text="External ids of the customers to survey (or give `segment`).",
    )
    segment = fields.CharField(max_length=50, required=False, help_text="Survey every customer of a segment.")
    question = fields.CharField(max_length=500, required=False, allow_blank=True, multiline=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("customers")) == bool(attrs.get("segment")):
            raise serializers.ValidationError("Give either `customers` (a non-empty list) or `segment`.")
        return attrs


class CampaignResultSerializer(serializers.Serializer):
    campaign = fields.IntegerField()
    queued = fields.IntegerField(help_text="Invitations created; their emails go out through Celery.")
    skipped = inline_serializer(
        "CampaignSkipped",
        {
            "throttled": fields.IntegerField(),
            "unsubscribed": fields.IntegerField(),
            "no_contacts": fields.IntegerField(),
            "churned": fields.IntegerField(),
        },
    )


class CampaignCreateView(APIView):
    """`POST /api/v1/survey-campaigns/`: managers (their teams' customers) and admins (all)."""

    @extend_schema(
        summary="Send a survey campaign",
        request=CampaignCreateSerializer,
        responses={201: CampaignResultSerializer},
    )
    def post(self, request: Request) -> Response:
        ser = CampaignCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        if data.get("customers"):
            wanted = list(dict.fromkeys(data["customers"]))
            found = {c.external_id: c for c in Customer.objects.filter(external_id__in=wanted)}
            missing = [x for x in wanted if x not in found]
            if missing:
                raise serializers.ValidationError(
                    {"customers": [f"Unknown customer external_id(s): {', '.join(missing[:20])}."]}
                )
            customers = [found[x] for x in wanted]
            selection = f"{len(customers)} customer(s) via API"
        else:
            customers = list(editable_customers(request.user).filter(segment=data["segment"]))
            if not customers:
                raise serializers.ValidationError({"segment": ["No customer of yours is in this segment."]})
            selection = f"segment {data['segment']} via API"
        result = campaign_send(
            user=request.user,
            kind=data["kind"],
            customers=customers,
            question=data.get("question", ""),
            selection=selection,
        )
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


class ResponseImportView(IngestAPIView):
    """`POST /api/v1/survey-responses/` (admins): import answer history, idempotent on its natural key."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]
    serializer_class = ResponseImportSerializer
    upsert = staticmethod(responses_import)


class SurveyMetricsQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    start = fields.DateField(required=False, help_text="Default: end - 364 days")
    end = fields.DateField(required=False, help_text="Default: today")
    csm = fields.EmailField(required=False, help_text="CSM email")
    segment = fields.CharField(required=False, max_length=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("end", timezone.localdate())
        attrs.setdefault("start", attrs["end"] - dt.timedelta(days=364))
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": ["start must be on or before end."]})
        return attrs


class SurveyMetricsSerializer(serializers.Serializer):
    kind = fields.CharField()
    start = fields.DateField()
    end = fields.DateField()
    responses = fields.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="NPS -100…100, CSAT 0…100, CES mean 1…7")
    promoters = fields.IntegerField(required=False, help_text="NPS only")
    passives = fields.IntegerField(required=False, help_text="NPS only")
    detractors = fields.IntegerField(required=False, help_text="NPS only")
    satisfied = fields.IntegerField(required=False, help_text="CSAT only")


class SurveyMetricsView(APIView):
    """`GET /api/v1/metrics/surveys/?kind=&start=&end=[&csm=&segment=]` (docs/metrics.md "Surveys")."""

    @extend_schema(
        summary="NPS, CSAT or CES over a period",
        parameters=[SurveyMetricsQuerySerializer],
        responses={200: SurveyMetricsSerializer},
    )
    def get(self, request: Request) -> Response:
        query = SurveyMetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        responses = responses_filtered(
            start=q["start"], end=q["end"], segment=q.get("segment", ""), csm_email=q.get("csm", "")
        )
        score = survey_score(responses, kind=q["kind"])
        return Response({"kind": q["kind"], "start": q["start"], "end": q["end"], **score.as_dict()})
