"""REST API for people and customers (docs/api.md): customer/contact ingestion, customer reads, and logging
touchpoints and pulses. Views are thin: permission, validation, one service or queryset, response; what a
service raises is answered by core.exception_handlers."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import (
    IngestAPIView,
    IngestCountsSerializer,
    IngestErrorSerializer,
    ingest_payload,
    ingest_request_schema,
    ingest_response,
)

from .editing import customer_update
from .filters import CustomerFilter
from .models import Contact, Customer
from .serializers import (
    ContactIngestSerializer,
    CustomerIngestSerializer,
    CustomerPatchSerializer,
    CustomerSerializer,
    PulseSerializer,
    TouchpointSerializer,
)
from .services import contacts_upsert, customers_upsert, pulse_log, touchpoint_log
from .visibility import IsAdminRole

# --- Customers ---

_EDIT_RESPONSES = {
    400: OpenApiResponse(description="Invalid fields (field → messages); nothing is written."),
    403: OpenApiResponse(description="Only managers (their teams' customers) and admins edit customers."),
}


class CustomerPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class CustomerReadMixin:
    """Queryset and serializer of the customer read endpoints.

    Every customer is readable by every signed-in user (docs/architecture.md#roles-and-permissions). A later
    app (metrics: current MRR,
    health) subclasses the views below, extends `get_queryset()` with its own annotations — subqueries, so
    that the query count stays constant — and swaps `serializer_class` for a subclass of CustomerSerializer.
    """

    serializer_class: type[serializers.Serializer] = CustomerSerializer
    filterset_class = CustomerFilter
    lookup_field = "external_id"

    def get_queryset(self) -> QuerySet[Customer]:
        contacts = (
            Contact.objects.filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            Customer.objects.select_related("csm")
            .annotate(contacts_count=Coalesce(Subquery(contacts, output_field=IntegerField()), 0))
            .order_by("name", "pk")
        )


class CustomerListView(CustomerReadMixin, generics.ListAPIView):
    """`GET /api/v1/customers/` (any signed-in user) and `POST` ingestion (admins)."""

    pagination_class = CustomerPagination
    ingest_serializer_class = CustomerIngestSerializer

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.request.method == "POST":
            return [permissions.IsAuthenticated(), IsAdminRole()]
        return [permissions.IsAuthenticated()]

    @extend_schema(
        summary="List customers", description="Every customer; filter by CSM email, segment, stage."
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create or update customers (admins)",
        description=(
            "One object or a list of up to 10,000, upserted on `external_id`; an object updates only the "
            "fields it contains. One invalid object → 400 naming its index and field, and nothing is written."
        ),
        request=ingest_request_schema(CustomerIngestSerializer),
        responses={200: IngestCountsSerializer, 400: IngestErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        return ingest_response(
            ingest_payload(request),
            self.ingest_serializer_class,
            customers_upsert,
            context={"request": request},
        )


class CustomerDetailView(CustomerReadMixin, generics.RetrieveAPIView):
    """`GET /api/v1/customers/<external_id>/` (any signed-in user) and `PATCH` (managers: their teams'
    customers; admins: all), which changes CSM, renewal date, stage, licenses or segment, audited."""

    filterset_class = None

    @extend_schema(summary="One customer")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Edit a customer's fields (managers: their teams'; admins: all)",
        description="Change `csm_email`, `renewal_date`, `lifecycle_stage`, `licenses` or `segment`; the "
        "change is kept in the audit log (docs/workspace.md#audit-log). An omitted field is left alone.",
        request=CustomerPatchSerializer,
        responses={200: CustomerSerializer, **_EDIT_RESPONSES},
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        ser = CustomerPatchSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        customer_update(user=request.user, customer=customer, changes=ser.changes())
        return Response(self.get_serializer(self.get_object()).data)


class ContactIngestView(IngestAPIView):
    """`POST /api/v1/contacts/` (admins): upsert contacts on (customer external_id, email)."""

    permission_classes = [permissions.IsAuthenticated, IsAdminRole]
    serializer_class = ContactIngestSerializer
    upsert = staticmethod(contacts_upsert)

    @extend_schema(
        summary="Create or update contacts (admins)",
        description=(
            "One object or a list of up to 10,000, upserted on (`customer`, `email`). An unknown customer "
            "→ 400 naming the row, and nothing is written."
        ),
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


# --- Touchpoints and pulses ---


_LOG_RESPONSES = {
    400: OpenApiResponse(description="Invalid fields (field → messages)."),
    403: OpenApiResponse(
        description="The customer is not in your book (docs/architecture.md#roles-and-permissions)."
    ),
}


class TouchpointCreateView(generics.GenericAPIView):
    """`POST /api/v1/touchpoints/`: CSMs on their customers, managers on their teams', admins on all."""

    serializer_class = TouchpointSerializer

    @extend_schema(summary="Log a touchpoint", responses={201: TouchpointSerializer, **_LOG_RESPONSES})
    def post(self, request: Request) -> Response:
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        touchpoint = touchpoint_log(
            user=request.user,
            customer=data["customer"],
            kind=data["kind"],
            occurred_at=data["occurred_at"],
            summary=data["summary"],
            sentiment=data.get("sentiment", ""),
        )
        return Response(self.get_serializer(touchpoint).data, status=status.HTTP_201_CREATED)


class PulseCreateView(generics.GenericAPIView):
    """`POST /api/v1/pulses/`: same permission as touchpoints."""

    serializer_class = PulseSerializer

    @extend_schema(summary="Log a pulse score", responses={201: PulseSerializer, **_LOG_RESPONSES})
    def post(self, request: Request) -> Response:
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        pulse = pulse_log(
            user=request.user, customer=data["customer"], score=data["score"], note=data.get("note", "")
        )
        return Response(self.get_serializer(pulse).data, status=status.HTTP_201_CREATED)
