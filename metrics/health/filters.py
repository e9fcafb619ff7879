"""Query-string filters of the health API (django-filter): they filter the list and document its parameters
in the OpenAPI schema."""

from __future__ import annotations

import django_filters

from ..models import HealthSnapshot


class SnapshotDayFilter(django_filters.FilterSet):
    """`GET /api/v1/health-snapshots/?date=&csm=&segment=`: `date` is required (a missing or bad one is a 400
    naming it); an unknown CSM email or segment is an empty list, as in the customer list."""

    date = django_filters.DateFilter(field_name="date", required=True, help_text="The day, YYYY-MM-DD.")
    csm = django_filters.CharFilter(
        field_name="customer__csm__email", lookup_expr="iexact", label="CSM email"
    )
    segment = django_filters.CharFilter(field_name="customer__segment", lookup_expr="iexact")

    class Meta:
        model = HealthSnapshot
        fields = ["date", "csm", "segment"]
