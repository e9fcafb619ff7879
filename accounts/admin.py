from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .admin_audit import AuditedAdmin
from .models import ApiToken, AuditEntry, Contact, Customer, Note, Pulse, Team, Touchpoint, User


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "teams"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "role"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "role", "password1", "password2"]})
    ]


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "manager"]
    filter_horizontal = ["members"]
    list_select_related = ["manager"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
    health_input = True  # licenses, segment, contract start
    list_display = ["name", "external_id", "segment", "csm", "lifecycle_stage", "licenses", "renewal_date"]
    list_filter = ["segment", "lifecycle_stage", "csm"]
    search_fields = ["name", "external_id"]
    list_select_related = ["csm"]
    autocomplete_fields = ["csm"]
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(AuditedAdmin):
    list_display = ["email", "name", "title", "customer", "unsubscribed_at"]
    search_fields = ["email", "name", "customer__name"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(Touchpoint)
class TouchpointAdmin(AuditedAdmin):
    health_input = True  # engagement
    list_display = ["customer", "kind", "occurred_at", "sentiment", "author"]
    list_filter = ["kind", "sentiment"]
    search_fields = ["customer__name", "summary"]
    list_select_related = ["customer", "author"]
    raw_id_fields = ["customer", "contacts"]
    date_hierarchy = "occurred_at"


@admin.register(Pulse)
class PulseAdmin(AuditedAdmin):
    health_input = True
    list_display = ["customer", "score", "author", "created_at"]
    list_filter = ["score"]
    search_fields = ["customer__name", "note"]
    list_select_related = ["customer", "author"]
    raw_id_fields = ["customer"]


@admin.register(Note)
class NoteAdmin(AuditedAdmin):
    list_display = ["customer", "author", "created_at", "updated_at"]
    search_fields = ["customer__name", "text"]
    list_select_related = ["customer", "author"]
    raw_id_fields = ["customer", "author"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: keys are stored hashed, so nothing here is a working token; revoke on the tokens page."""

    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__email", "prefix"]
    exclude = ["key_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: entries are written by the services (accounts.audit), never by hand."""

    list_display = ["at", "actor_label", "action", "object_type", "object_repr", "customer"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor_label", "object_id"]
    date_hierarchy = "at"
    list_select_related = ["customer"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
