"""Customer page panels contributed by apps to the right of accounts (metrics, surveys, playbooks).

accounts may not import those apps (docs/architecture.md), so the customer page asks this module, which calls
the
providers listed in settings.CSHUB_CUSTOMER_PANELS (dotted paths, like context processors). A provider is
`def provider(*, customer, user) -> list[Panel]` and does a bounded number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass
class Panel:
    title: str
    template: str  # rendered with `context` plus `customer` and `request`
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100  # lower first
    wide: bool = False  # spans the full width of the customer page grid


def customer_panels(*, customer: Any, user: Any) -> list[Panel]:
    panels: list[Panel] = []
    for path in settings.CSHUB_CUSTOMER_PANELS:
        panels.extend(import_string(path)(customer=customer, user=user))
    return sorted(panels, key=lambda p: p.order)


def book_notes(*, customers: list[Any]) -> dict[int, dict[str, str]]:
    """Per customer of a Book page, what the apps to the right of accounts say about it in a line (the health
    model's weakest factors, docs/health.md#in-the-book): the providers of settings.CSHUB_BOOK_NOTES, each
    `def provider(*, customers) -> {customer_id: {"text": …, "title": …}}` in a bounded number of queries."""
    notes: dict[int, dict[str, str]] = {}
    for path in getattr(settings, "CSHUB_BOOK_NOTES", []):
        notes.update(import_string(path)(customers=customers))
    return notes
