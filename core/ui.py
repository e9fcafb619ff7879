"""Shared helpers for htmx-enhanced list screens (docs/style.md "Templates and htmx").

    page = ui.paginate(request, queryset)                       # ?page=N, 50 per page, bad input → page 1
    sort = ui.sort_param(request, {"name", "renewal"}, "renewal")  # ?sort=name / ?sort=-name
    return ui.render_page(request, "app/page.html", context, partial="rows")

Templates: Django's `{% querystring page=2 as q %}` (None removes a key), and `{% load cshub_ui %}` gives
`{% active_if "/prefix/" %}`; components/: sort_header.html, pagination.html, empty_state.html, field.html,
messages.html.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from .validation import BadQuery, query_int

PAGE_SIZE = 50


class HtmxHttpRequest(HttpRequest):
    """The request of a view that reads `request.htmx` (django-htmx's middleware sets it on every request):
    `def view(request: HtmxHttpRequest)` tells type checkers the attribute is there."""

    htmx: HtmxDetails


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps a fragment. History restores (back button after a cache miss) and boosted
    links need the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str, status: int = 200
) -> HttpResponse:
    """The whole page, or only `template#partial` for htmx; always `Vary: HX-Request` so caches keep both."""
    name = f"{template}#{partial}" if is_partial(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def int_param(
    request: HttpRequest, name: str, default: int | None = None, *, max_value: int = 1_000_000
) -> int | None:
    """A filter's ?name=N as a whole number in [0, max_value]; missing or anything else: `default` (a stale
    bookmark still opens the page). A parameter that must be right uses core.validation.query_int (400)."""
    try:
        return query_int(request.GET, name, default=default, max_value=max_value)
    except BadQuery:
        return default


def safe_next(request: HttpRequest, target: str | None, default: str) -> str:
    """A `next` URL to redirect to when it stays on this site (no other host, no other scheme), else
    `default`."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def paginate(request: HttpRequest, items: Any, *, per_page: int = PAGE_SIZE) -> Page:
    """?page=N of `items`; a missing, invalid or out-of-range page gives the first or last page."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def sort_param(request: HttpRequest, allowed: Iterable[str], default: str) -> str:
    """?sort=key or ?sort=-key when key is allowed, else `default`."""
    value = request.GET.get("sort", "")
    return value if value.lstrip("-") in set(allowed) else default
