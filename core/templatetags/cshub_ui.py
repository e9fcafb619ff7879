"""Small template helpers shared by every screen: nav state, customer page panels, score bands.

Query-string links (sort, page, export) use Django's `{% querystring %}`: `{% querystring page=2 as q %}`;
None removes a key ("" keeps it, empty)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def active_if(context: template.Context, *prefixes: str) -> SafeString:
    """`aria-current="page"` on a nav link when the current path starts with one of `prefixes`."""
    request = context.get("request")
    path = getattr(request, "path", "")
    if any(path.startswith(p) for p in prefixes):
        return SafeString('aria-current="page"')
    return SafeString("")


@register.simple_tag(takes_context=True)
def render_panel(context: template.Context, panel) -> SafeString:
    """Render a core.panels.Panel with its own context plus `customer` and `request`."""
    data = {**panel.context, "customer": context.get("customer"), "panel": panel}
    return SafeString(render_to_string(panel.template, data, request=context.get("request")))


@register.filter
def pulse_band(score: int | None) -> str:
    """Colour of a 1-5 pulse: red (1-2), yellow (3), green (4-5)."""
    if score is None:
        return ""
    return "red" if score <= 2 else "yellow" if score == 3 else "green"


@register.filter
def days_from_today(value: dt.date | dt.datetime | None) -> str:
    """'today', 'in 12 days', '3 days ago' for a date (or a datetime in the current time zone)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    days = (value - timezone.localdate()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


@register.filter
def renewal_band(value: dt.date | None) -> str:
    """Urgency of a renewal date: red within 30 days (or overdue), yellow within 90."""
    if value is None:
        return ""
    days = (value - timezone.localdate()).days
    return "red" if days <= 30 else "yellow" if days <= 90 else ""


# docs/health.md: the health model treats a pulse older than 60 days as missing; the UI says so.
PULSE_FRESH_DAYS = 60


@register.filter
def pulse_is_stale(value: dt.datetime | None) -> bool:
    if value is None:
        return False
    return (timezone.localdate() - timezone.localtime(value).date()).days > PULSE_FRESH_DAYS
