"""Shared by the survey-answer conditions: low answers newer than the trigger's cursor (fast signal)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Count, Max, Min

from surveys.models import Response

from .base import Context, Match


def newest_response_id() -> int:
    return Response.objects.aggregate(top=Max("pk"))["top"] or 0


def low_answers(
    ctx: Context, *, kind: str, max_score: int, within_days: int, upto_id: int
) -> Iterator[Match]:
    """Customers with an answer of `kind` scoring ≤ max_score, answered within `within_days`, that the
    trigger has not seen yet (id in (cursor, upto_id]): each answer can start a run once."""
    rows = (
        Response.objects.filter(
            kind=kind,
            score__lte=max_score,
            answered_at__gte=ctx.now - dt.timedelta(days=within_days),
            answered_at__lte=ctx.now,
            pk__gt=ctx.trigger.cursor or 0,
            pk__lte=upto_id,
            customer_id__in=ctx.eligible,
        )
        .values("customer_id")
        .annotate(lowest=Min("score"), answers=Count("pk"), latest=Max("answered_at"), last_id=Max("pk"))
        .order_by("customer_id")
    )
    for row in rows:
        yield Match(
            customer_id=row["customer_id"],
            values={
                "score": row["lowest"],
                "answers": row["answers"],
                "answered_at": row["latest"].isoformat(),
                "response_id": row["last_id"],
            },
            key=f"response:{row['last_id']}",
        )
