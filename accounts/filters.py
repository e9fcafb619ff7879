"""Query-string filters of the people and customer API (django-filter): they filter the list and document
its parameters in the OpenAPI schema."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from .models import Customer, LifecycleStage


class CustomerFilter(django_filters.FilterSet):
    """`GET /api/v1/customers/?csm=&segment=&lifecycle_stage=&search=`. An unknown CSM email or segment is an
    empty list; an unknown lifecycle stage is a 400."""

    csm = django_filters.CharFilter(field_name="csm__email", lookup_expr="iexact", label="CSM email")
    segment = django_filters.CharFilter(field_name="segment", lookup_expr="iexact")
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices)
    search = django_filters.CharFilter(method="filter_search", label="Name or external id contains")

    class Meta:
        model = Customer
        fields = ["csm", "segment", "lifecycle_stage", "search"]

    def filter_search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value))
