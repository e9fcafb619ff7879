"""Customer page panel: each contact's latest survey answers and comments (cshub/panels.py)."""

from __future__ import annotations

from cshub.panels import Panel


def customer_panels(*, customer, user) -> list[Panel]:
    return []
