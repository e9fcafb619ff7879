from __future__ import annotations

from django.contrib import admin

from accounts.admin_audit import AuditedAdmin

from .models import Campaign, Invitation, Response, SurveyKind


@admin.register(SurveyKind)
class SurveyKindAdmin(AuditedAdmin):
    list_display = ["kind", "name", "question"]
    readonly_fields = ["kind"]

    def has_add_permission(self, request) -> bool:
        return False  # the three kinds come from a migration

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "created_at", "created_by", "selection"]
    list_filter = ["kind"]
    list_select_related = ["created_by"]
    readonly_fields = [f.name for f in Campaign._meta.fields]


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin):
    list_display = ["id", "campaign", "customer", "contact", "state", "sent_at", "expires_at"]
    list_filter = ["state"]
    list_select_related = ["campaign", "customer", "contact"]
    raw_id_fields = ["campaign", "customer", "contact"]
    exclude = ["token_hash"]
    readonly_fields = [
        "state",
        "claimed_at",
        "sent_at",
        "opened_at",
        "answered_at",
        "created_at",
        "expires_at",
    ]


@admin.register(Response)
class ResponseAdmin(AuditedAdmin):
    health_input = True  # NPS, CSAT
    list_display = ["id", "kind", "score", "customer", "contact_email", "answered_at"]
    list_filter = ["kind"]
    list_select_related = ["customer"]
    search_fields = ["contact_email", "customer__name", "comment"]
    raw_id_fields = ["invitation", "campaign", "customer", "contact"]
