"""REST API for people and customers (docs/api.md): customer/contact ingestion, customer reads, and logging
touchpoints and pulses. Views are thin: permission, validation, one service or queryset, response; what a
service raises is answered by core.exception_handlers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from core import timeline
from core.api import (
    IngestAPIView,
    IngestCountsSerializer,
    IngestErrorSerializer,
    ingest_payload,
    ingest_request_schema,
    ingest_response,
)

from . import search, selectors, services
from .editing import customer_update
from .filters import CustomerFilter
from .models import Contact, Customer, Note, Pulse, Touchpoint
from .serializers import (
    ContactIngestSerializer,
    CustomerIngestSerializer,
    CustomerPatchSerializer,
    CustomerSerializer,
    NoteSerializer,
    NoteUpdateSerializer,
    PulseSerializer,
    PulseUpdateSerializer,
    SearchResultsSerializer,
    TimelinePageSerializer,
    TouchpointSerializer,
    TouchpointUpdateSerializer,
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


class NoteCreateView(generics.GenericAPIView):
    """`POST /api/v1/notes/`: same permission as touchpoints (docs/workspace.md#notes)."""

    serializer_class = NoteSerializer

    @extend_schema(summary="Write a note", responses={201: NoteSerializer, **_LOG_RESPONSES})
    def post(self, request: Request) -> Response:
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        note = services.note_log(user=request.user, customer=data["customer"], text=data["text"])
        return Response(self.get_serializer(note).data, status=status.HTTP_201_CREATED)


_CHANGE_RESPONSES = {
    400: OpenApiResponse(description="Invalid fields (field → messages)."),
    403: OpenApiResponse(
        description="Not yours to change: authors change their own logs, managers their teams', admins all "
        "(docs/workspace.md#editing-logs)."
    ),
    404: OpenApiResponse(description="No such log."),
}


class _LogDetailView(generics.GenericAPIView):
    """GET (any signed-in user), PATCH and DELETE (the author, their manager, admins) of one log."""

    model: type[Model]
    kind: str
    update_serializer_class: type[serializers.Serializer]

    def get_queryset(self) -> QuerySet:
        return self.model.objects.select_related("customer", "author")

    def get_object(self) -> Any:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def _patch(self, request: Request, pk: int) -> Response:
        log = self.get_object()
        ser = self.update_serializer_class(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        if self.kind == "note":
            if "text" not in ser.validated_data:
                raise ValidationError({"text": "This field is required."})
            log = services.note_update(user=request.user, note=log, text=ser.validated_data["text"])
        else:
            update = getattr(services, f"{self.kind}_update")
            log = update(user=request.user, **{self.kind: log}, data=ser.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=log.pk)).data)

    def _delete(self, request: Request, pk: int) -> Response:
        getattr(services, f"{self.kind}_delete")(user=request.user, **{self.kind: self.get_object()})
        return Response(status=status.HTTP_204_NO_CONTENT)


class TouchpointDetailView(_LogDetailView):
    """`/api/v1/touchpoints/<id>/`."""

    model, kind = Touchpoint, "touchpoint"
    serializer_class = TouchpointSerializer
    update_serializer_class = TouchpointUpdateSerializer

    @extend_schema(summary="One touchpoint")
    def get(self, request: Request, pk: int) -> Response:
        return self._get(request, pk)

    @extend_schema(
        summary="Edit a touchpoint",
        request=TouchpointUpdateSerializer,
        responses={200: TouchpointSerializer, **_CHANGE_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._patch(request, pk)

    @extend_schema(summary="Delete a touchpoint", responses={204: None, **_CHANGE_RESPONSES})
    def delete(self, request: Request, pk: int) -> Response:
        return self._delete(request, pk)


class PulseDetailView(_LogDetailView):
    """`/api/v1/pulses/<id>/`."""

    model, kind = Pulse, "pulse"
    serializer_class = PulseSerializer
    update_serializer_class = PulseUpdateSerializer

    @extend_schema(summary="One pulse")
    def get(self, request: Request, pk: int) -> Response:
        return self._get(request, pk)

    @extend_schema(
        summary="Edit a pulse",
        request=PulseUpdateSerializer,
        responses={200: PulseSerializer, **_CHANGE_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._patch(request, pk)

    @extend_schema(summary="Delete a pulse", responses={204: None, **_CHANGE_RESPONSES})
    def delete(self, request: Request, pk: int) -> Response:
        return self._delete(request, pk)


class NoteDetailView(_LogDetailView):
    """`/api/v1/notes/<id>/`."""

    model, kind = Note, "note"
    serializer_class = NoteSerializer
    update_serializer_class = NoteUpdateSerializer

    @extend_schema(summary="One note")
    def get(self, request: Request, pk: int) -> Response:
        return self._get(request, pk)

    @extend_schema(
        summary="Edit a note",
        request=NoteUpdateSerializer,
        responses={200: NoteSerializer, **_CHANGE_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._patch(request, pk)

    @extend_schema(summary="Delete a note", responses={204: None, **_CHANGE_RESPONSES})
    def delete(self, request: Request, pk: int) -> Response:
        return self._delete(request, pk)


# --- Timeline ---


class CustomerTimelineView(generics.GenericAPIView):
    """`GET /api/v1/customers/<external_id>/timeline/?kind=&before=` (any signed-in user)."""

    serializer_class = TimelinePageSerializer

    @extend_schema(
        summary="A customer's timeline",
        description=(
            "Everything that happened to the customer, newest first, 25 a page (docs/workspace.md#timeline). "
            "`kind` narrows it (repeat it or separate kinds with commas); `before` is the cursor in the "
            "previous page's `next`."
        ),
        parameters=[
            OpenApiParameter(
                "kind", OpenApiTypes.STR, many=True, enum=list(timeline.KINDS), description="Kinds to keep."
            ),
            OpenApiParameter("before", OpenApiTypes.STR, description="The cursor of the next page."),
        ],
        responses={200: TimelinePageSerializer, 400: OpenApiResponse(description="Unknown kind or cursor.")},
    )
    def get(self, request: Request, external_id: str) -> Response:
        customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
        try:
            kinds = timeline.clean_kinds(request.query_params.getlist("kind"))
        except ValueError as exc:
            raise ValidationError({"kind": str(exc)}) from None
        try:
            page = timeline.timeline_page(
                customer.pk, kinds=kinds or None, before=request.query_params.get("before") or None
            )
        except timeline.BadCursor as exc:
            raise ValidationError({"before": str(exc)}) from None
        next_url = None
        if page.next_cursor:
            params = request.query_params.copy()
            params["before"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        results = [
            {"kind": e.kind, "at": e.at, "title": e.title, "detail": e.detail, "actor": e.actor}
            for e in page.entries
        ]
        return Response(self.get_serializer({"results": results, "next": next_url}).data)


# --- Search ---


class SearchView(generics.GenericAPIView):
    """`GET /api/v1/search/?q=` (any signed-in user; docs/workspace.md#search)."""

    serializer_class = SearchResultsSerializer

    @extend_schema(
        summary="Search customers, contacts, touchpoints and notes",
        description=(
            "Every word of `q` must match, as a prefix; each group is ranked, best first, up to 8 hits. "
            "An empty `q`, one without letters or digits, or one over 200 characters is a 400 naming `q`."
        ),
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, required=True, description="What to look for.")],
        responses={200: SearchResultsSerializer, 400: OpenApiResponse(description="Bad `q`.")},
    )
    def get(self, request: Request) -> Response:
        results = search.search(user=request.user, q=request.query_params.get("q", ""))
        return Response(self.get_serializer(results).data)
