"""The "as of HH:MM" stamp of pages that show health (docs/health.md#live-data)."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

from ..dirty import dirty_since

register = template.Library()


@register.simple_tag
def health_stamp() -> str:
    """ "Health as of HH:MM": the moment up to which every write shows in health — now, or the oldest change
    the live recompute has not reflected yet (then "updating…" says it is on its way). One query."""
    pending = dirty_since()
    at = timezone.localtime(pending or timezone.now())
    if pending is None:
        return format_html('<span data-testid="health-stamp">Health as of {}</span>', f"{at:%H:%M}")
    return format_html(
        '<span data-testid="health-stamp" title="Recent changes are being recomputed">Health as of {} · '
        "updating…</span>",
        f"{at:%H:%M}",
    )
