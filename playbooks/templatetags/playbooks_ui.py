"""Template filters of the playbook pages: a run's reason with its dates made relative when the page renders
(docs/playbooks.md#relative-dates). Stored reasons say dates only; "in 21 days" is computed here, today."""

from __future__ import annotations

import datetime as dt

from django import template

from core.templatetags.cshub_ui import days_from_today

register = template.Library()

# Reason values that are dates, with how the page says them relative to today; and the values that were
# relative numbers when a run started (older runs have them), which no page shows any more.
_RELATIVE = {"renewal_date": "renewal {}", "last_touchpoint_at": "last one {}"}
FROZEN_KEYS = frozenset({"days_to_renewal", "days_since"})


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@register.filter
def reason_now(run) -> str:
    """The run's reason, followed by its dates relative to today: "Renewal on 2026-12-28 · renewal in 21
    days"."""
    values = (run.reason_values or {}).get("values") or {}
    extra = []
    for key, pattern in _RELATIVE.items():
        day = _date(values.get(key)) if values.get(key) else None
        if day is not None:
            extra.append(pattern.format(days_from_today(day)))
    return " · ".join([run.reason, *extra])
