"""Admin pages for the metrics data. Ledger and usage rows are written by ingestion (which keeps the ledger
links and the rollups right), so they are read-only here; key features and milestones are edited here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_audit import AuditedAdmin

from .models import (
    KeyFeature,
    MrrEntry,
    Renewal,
    Ticket,
    UsageDaily,
    UsageEvent,
    UsageUserDay,
    ValueMilestone,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only through the ingestion services (API, CSV import): browsing and search only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A deleted ledger row or event would leave the ledger links / rollups describing data that is gone.
        return False


@admin.register(MrrEntry)
class MrrEntryAdmin(ReadOnlyAdmin):
    list_display = ["customer", "effective_date", "mrr", "prev_mrr", "next_date"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__external_id"]
    date_hierarchy = "effective_date"
    ordering = ["-effective_date"]


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "customer", "user_id", "feature", "occurred_at", "quantity"]
    list_select_related = ["customer"]
    search_fields = ["event_id", "user_id", "customer__external_id"]
    show_full_result_count = False


@admin.register(UsageDaily)
class UsageDailyAdmin(ReadOnlyAdmin):
    list_display = ["customer", "day", "user_id", "feature", "events", "quantity"]
    list_select_related = ["customer"]
    search_fields = ["user_id", "customer__external_id"]
    list_filter = ["feature"]
    show_full_result_count = False


@admin.register(UsageUserDay)
class UsageUserDayAdmin(ReadOnlyAdmin):
    list_display = ["customer", "day", "user_id", "events"]
    list_select_related = ["customer"]
    search_fields = ["user_id", "customer__external_id"]
    show_full_result_count = False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "customer",
        "priority",
        "opened_at",
        "resolved_at",
        "first_contact_resolution",
    ]
    list_filter = ["priority", "first_contact_resolution", "category"]
    list_select_related = ["customer"]
    search_fields = ["external_id", "customer__name", "customer__external_id"]


@admin.register(Renewal)
class RenewalAdmin(ReadOnlyAdmin):
    list_display = ["customer", "due_date", "arr_due", "outcome", "renewed_arr"]
    list_filter = ["outcome"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__external_id"]
    date_hierarchy = "due_date"


@admin.register(KeyFeature)
class KeyFeatureAdmin(AuditedAdmin):
    health_input = True  # the key-feature factors of every customer
    list_display = ["name", "description"]
    search_fields = ["name"]


@admin.register(ValueMilestone)
class ValueMilestoneAdmin(AuditedAdmin):
    list_display = ["customer", "achieved_on", "note", "author"]
    list_select_related = ["customer", "author"]
    search_fields = ["customer__name", "customer__external_id"]
    autocomplete_fields = ["customer"]
    raw_id_fields = ["author"]
