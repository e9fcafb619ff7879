from __future__ import annotations

from django.contrib import admin

from .models import ConnectorActivity, ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "filename", "state", "rows_validated", "rows_written", "created_at")
    list_filter = ("state", "kind")
    exclude = ("data",)
    readonly_fields = ("counts", "errors", "error_count", "started_at", "finished_at")


@admin.register(ConnectorActivity)
class ConnectorActivityAdmin(admin.ModelAdmin):
    list_display = ("at", "connector", "kind", "items", "error")
    list_filter = ("connector",)
    date_hierarchy = "at"
