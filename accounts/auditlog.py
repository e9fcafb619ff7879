"""Reading the audit log: an entry's changes in words, for the customer page's panel and the timeline
(docs/workspace.md#audit-log)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import AuditEntry

VALUE_MAX = 300  # characters of one value shown; the whole value stays in the entry


@dataclass(frozen=True)
class ChangeLine:
    field: str
    before: str
    after: str


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize() if name != "csm" else "CSM"


def _shown(value: Any, label: str = "") -> str:
    if label:
        return label
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def change_lines(changes: dict[str, Any]) -> list[ChangeLine]:
    """Each changed field as (field, before, after) in words; a person as their name, not their id."""
    lines = []
    for name, change in changes.items():
        if not isinstance(change, dict):
            continue
        lines.append(
            ChangeLine(
                field=_label(name),
                before=_shown(change.get("before"), change.get("before_label", "")),
                after=_shown(change.get("after"), change.get("after_label", "")),
            )
        )
    return lines


OBJECT_NAMES = {"customer": "Customer", "contact": "Contact", "touchpoint": "Touchpoint", "pulse": "Pulse"}


def entry_title(action: str, object_type: str) -> str:
    """ "Touchpoint changed", "Note deleted"…"""
    verb = {"create": "added", "update": "changed", "delete": "deleted"}.get(action, action)
    return f"{OBJECT_NAMES.get(object_type, object_type.replace('_', ' ').capitalize())} {verb}"


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    title: str
    actor: str
    lines: list[ChangeLine]


def audit_rows(entries: list[AuditEntry]) -> list[AuditRow]:
    """Entries (with `actor` selected) ready to show: who in words, and what changed."""
    return [
        AuditRow(
            entry=e,
            title=entry_title(e.action, e.object_type),
            actor=(e.actor.get_full_name() if e.actor else e.actor_label) or "system",
            lines=change_lines(e.changes or {}),
        )
        for e in entries
    ]
