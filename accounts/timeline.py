"""accounts' share of the customer timeline: touchpoints, pulses, notes and field changes
(docs/workspace.md#timeline; the registry is core.timeline)."""

from __future__ import annotations

import json

from django.db.models import QuerySet

from core.timeline import Row, Source, columns

from .auditlog import change_lines, entry_title
from .models import PULSE_RUBRIC, AuditEntry, Note, Pulse, Sentiment, Touchpoint, TouchpointKind

DETAIL_MAX = 1000


def _clip(text: str, limit: int = DETAIL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _touchpoints(customer_id: int) -> QuerySet:
    return columns(
        Touchpoint.objects.filter(customer_id=customer_id),
        kind="touchpoint",
        at="occurred_at",
        actor="author",
        a="kind",
        b="sentiment",
        c="summary",
    )


def _describe_touchpoint(row: Row) -> tuple[str, str]:
    title = TouchpointKind(row.a).label if row.a in TouchpointKind.values else row.a
    if row.b in Sentiment.values:
        title += f" · {Sentiment(row.b).label.lower()}"
    return title, _clip(row.c)


def _pulses(customer_id: int) -> QuerySet:
    return columns(
        Pulse.objects.filter(customer_id=customer_id),
        kind="pulse",
        at="created_at",
        actor="author",
        a="score",
        b="note",
    )


def _describe_pulse(row: Row) -> tuple[str, str]:
    score = int(row.a) if row.a.isdigit() else 0
    return f"Pulse {score}/5", _clip(row.b) or PULSE_RUBRIC.get(score, "")


def _notes(customer_id: int) -> QuerySet:
    return columns(
        Note.objects.filter(customer_id=customer_id), kind="note", at="created_at", actor="author", a="text"
    )


def _describe_note(row: Row) -> tuple[str, str]:
    return "Note", _clip(row.a)


def _field_changes(customer_id: int) -> QuerySet:
    return columns(
        AuditEntry.objects.filter(customer_id=customer_id),
        kind="field_change",
        at="at",
        actor="actor",
        actor_text="actor_label",
        a="action",
        b="object_type",
        c="changes",
    )


def _describe_field_change(row: Row) -> tuple[str, str]:
    object_type = row.b
    try:
        changes = json.loads(row.c) if row.c else {}
    except ValueError:
        changes = {}
    if isinstance(changes, str):  # a JSON text cast to text once more (SQLite keeps it as text)
        changes = json.loads(changes)
    lines = change_lines(changes if isinstance(changes, dict) else {})
    if row.a == "delete":
        detail = "; ".join(f"{line.field} was {line.before}" for line in lines)
    else:
        detail = "; ".join(f"{line.field}: {line.before} → {line.after}" for line in lines)
    return entry_title(row.a, object_type), _clip(detail)


def sources() -> list[Source]:
    return [
        Source("touchpoint", "Touchpoints", _touchpoints, _describe_touchpoint, editable=True),
        Source("pulse", "Pulses", _pulses, _describe_pulse, editable=True),
        Source("note", "Notes", _notes, _describe_note, editable=True),
        Source("field_change", "Changes", _field_changes, _describe_field_change),
    ]
