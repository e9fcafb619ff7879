"""Small template helpers shared by every screen: nav state, query-string links, customer page panels."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
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
def query_with(context: template.Context, **changes: object) -> str:
    """The current query string with `changes` applied (None or "" removes a key): sort and page links."""
    request = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def render_panel(context: template.Context, panel) -> SafeString:
    """Render a cshub.panels.Panel with its own context plus `customer` and `request`."""
    data = {**panel.context, "customer": context.get("customer"), "panel": panel}
    return SafeString(render_to_string(panel.template, data, request=context.get("request")))
