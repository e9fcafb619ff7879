"""Playbook runs API (docs/api.md): `GET /api/v1/playbook-runs/?customer=&status=` lists runs with their
reason and tasks; `POST {playbook, customer}` (managers within their teams, admins) starts one. What the
service raises is answered by core.exception_handlers (403, 400, and 409 for RunAlreadyOpen)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Customer
from core import fields

from .filters import RunFilter
from .models import Playbook, Run, Task
from .selectors import runs_api
from .services import playbook_run_start


class TaskSerializer(serializers.ModelSerializer):
    completed_by = fields.EmailField(source="completed_by.email", allow_null=True, default=None)

    class Meta:
        model = Task
        fields = ["id", "order", "title", "due_date", "status", "note", "completed_by", "completed_at"]


class ReasonSerializer(serializers.Serializer):
    text = fields.CharField(source="reason")
    trigger = fields.CharField(source="reason_values.condition", default=None, allow_null=True)
    params = serializers.DictField(source="reason_values.params", default=None, allow_null=True)
    values = serializers.DictField(source="reason_values.values", default=None, allow_null=True)
    started_by = fields.EmailField(source="started_by.email", default=None, allow_null=True)


class RunSerializer(serializers.ModelSerializer):
    playbook = fields.CharField(source="playbook.name")
    customer = fields.CharField(source="customer.external_id")
    assignee = fields.EmailField(source="assignee.email", allow_null=True, default=None)
    reason = ReasonSerializer(source="*")
    tasks = TaskSerializer(many=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "playbook",
            "customer",
            "assignee",
            "status",
            "reason",
            "tasks",
            "outcome_note",
            "started_at",
            "closed_at",
        ]


class RunStartSerializer(serializers.Serializer):
    playbook = fields.CharField(
        max_length=150, multiline=False, allow_integer=True, help_text="The playbook's id or exact name."
    )
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    note = fields.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_playbook(self, value: str) -> Playbook:
        qs = (
            # ASCII digits only: "²".isdigit() is true, and int() refuses it.
            Playbook.objects.filter(pk=int(value))
            if value.isascii() and value.isdigit() and len(value) <= 18
            else Playbook.objects.filter(name=value)
        )
        playbook = qs.first()
        if playbook is None:
            raise serializers.ValidationError("No such playbook.")
        if not playbook.enabled:
            raise serializers.ValidationError("This playbook is disabled.")
        return playbook

    def validate_customer(self, value: str) -> Customer:
        customer = Customer.objects.filter(external_id=value).first()
        if customer is None:
            raise serializers.ValidationError("No customer with this external_id.")
        return customer


@extend_schema(tags=["playbook-runs"])
class RunListCreateView(generics.ListCreateAPIView):
    serializer_class = RunSerializer
    filterset_class = RunFilter  # ?customer=&status=

    def get_queryset(self) -> QuerySet[Run]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Run.objects.none()
        return runs_api(user=self.request.user)

    @extend_schema(request=RunStartSerializer, responses={201: RunSerializer})
    def post(self, request: Request, *args, **kwargs) -> Response:
        data = RunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = playbook_run_start(user=request.user, **data.validated_data)
        run = runs_api(user=request.user).get(pk=run.pk)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)
