"""Query-string filters of the playbook runs API (django-filter): they filter the list and document its
parameters in the OpenAPI schema."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from .models import Run, RunStatus


class RunFilter(django_filters.FilterSet):
    """`GET /api/v1/playbook-runs/?customer=&status=`. Values are taken as sent (not stripped); an unknown
    customer is an empty list, an unknown status a 400: `{"status": "Must be one of open, done, …"}`."""

    customer = django_filters.CharFilter(
        field_name="customer__external_id", strip=False, help_text="A customer's external_id."
    )
    status = django_filters.CharFilter(method="filter_status", strip=False)

    class Meta:
        model = Run
        fields = ["customer", "status"]

    @extend_schema_field({"type": "string", "enum": RunStatus.values})
    def filter_status(self, queryset: QuerySet[Run], name: str, value: str) -> QuerySet[Run]:
        # Checked here rather than by a ChoiceFilter, whose 400 names the field with a list of messages.
        if value not in RunStatus.values:
            raise ValidationError({"status": f"Must be one of {', '.join(RunStatus.values)}."})
        return queryset.filter(status=value)
