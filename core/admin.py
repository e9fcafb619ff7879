from __future__ import annotations

from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """What waits for the broker (docs/operations.md#outbox): normally empty."""

    list_display = ("task", "created_at", "attempts", "last_error")
    readonly_fields = ("task", "args", "created_at", "attempts", "last_error")
