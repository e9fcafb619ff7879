"""Tasks of one's own through the API (docs/api.md#tasks, docs/workspace.md#own-tasks):
`POST /api/v1/tasks/` adds an ad-hoc task, `POST /api/v1/tasks/<id>/snooze/` and `…/reassign/`. The same
services as the pages; what they raise is answered by core.exception_handlers (403, 400 with fields)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer, User
from core import fields

from .models import Task
from .selectors import task_for_worker
from .services import task_add, task_reassign, task_snooze
from .services.own_tasks import TITLE_MAX


def active_user(email: str) -> User:
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        raise serializers.ValidationError("No active cshub user has this email.")
    return user


class OwnTaskSerializer(serializers.ModelSerializer):
    customer = fields.CharField(source="run.customer.external_id", read_only=True)
    assignee = fields.EmailField(source="assignee.email", read_only=True, allow_null=True)
    # Plain text, not a second enum named "status" in the schema (the runs API has one): open, done, skipped.
    status = fields.CharField(read_only=True, help_text="open, done or skipped")

    class Meta:
        model = Task
        fields = ["id", "customer", "title", "due_date", "status", "assignee"]
        read_only_fields = fields


class TaskAddSerializer(serializers.Serializer):
    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    title = fields.CharField(max_length=TITLE_MAX, multiline=False)
    due_date = fields.DateField()
    assignee = fields.EmailField(help_text="Email of an active user you may assign tasks to.")

    def validate_assignee(self, value: str) -> User:
        return active_user(value)

    def validate_customer(self, value: str) -> Customer:
        customer = Customer.objects.filter(external_id=value).first()
        if customer is None:
            raise serializers.ValidationError("No customer with this external_id.")
        return customer


class TaskSnoozeSerializer(serializers.Serializer):
    until = fields.DateField(help_text="The task's new due date, after today.")


class TaskReassignSerializer(serializers.Serializer):
    assignee = fields.EmailField(help_text="Email of an active user you may reassign to.")

    def validate_assignee(self, value: str) -> User:
        return active_user(value)


_RESPONSES = {
    400: OpenApiResponse(description="Invalid fields (field → messages); nothing is written."),
    403: OpenApiResponse(description="Not allowed (docs/architecture.md#roles-and-permissions)."),
}


def _out(task: Task, code: int = status.HTTP_200_OK) -> Response:
    task = Task.objects.select_related("run__customer", "assignee").get(pk=task.pk)
    return Response(OwnTaskSerializer(task).data, status=code)


@extend_schema(tags=["tasks"])
class TaskAddView(APIView):
    @extend_schema(
        summary="Add an ad-hoc task on a customer",
        request=TaskAddSerializer,
        responses={201: OwnTaskSerializer, **_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        ser = TaskAddSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return _out(task_add(user=request.user, **ser.validated_data), status.HTTP_201_CREATED)


@extend_schema(tags=["tasks"])
class TaskSnoozeView(APIView):
    @extend_schema(
        summary="Snooze a task",
        request=TaskSnoozeSerializer,
        responses={200: OwnTaskSerializer, **_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        task = task_for_worker(user=request.user, pk=pk)
        ser = TaskSnoozeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return _out(task_snooze(user=request.user, task=task, until=ser.validated_data["until"]))


@extend_schema(tags=["tasks"])
class TaskReassignView(APIView):
    @extend_schema(
        summary="Reassign a task",
        request=TaskReassignSerializer,
        responses={200: OwnTaskSerializer, **_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        task = task_for_worker(user=request.user, pk=pk)
        ser = TaskReassignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return _out(task_reassign(user=request.user, task=task, assignee=ser.validated_data["assignee"]))
