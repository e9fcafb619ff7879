"""surveys' share of the customer timeline: survey answers (docs/workspace.md#timeline)."""

from __future__ import annotations

from django.db.models import QuerySet

from core.timeline import Row, Source, columns

from .models import Kind, Response


def _responses(customer_id: int) -> QuerySet:
    return columns(
        Response.objects.filter(customer_id=customer_id),
        kind="survey_response",
        at="answered_at",
        actor_text="contact_email",
        a="kind",
        b="score",
        c="comment",
    )


def _describe(row: Row) -> tuple[str, str]:
    label = Kind(row.a).label if row.a in Kind.values else row.a.upper()
    return f"{label} answer: {row.b}", row.c


def sources() -> list[Source]:
    return [Source("survey_response", "Survey answers", _responses, _describe)]
