"""Low CSAT answer (docs/playbooks.md): a contact answered CSAT ≤ 2 (by default) since the last evaluation."""

from __future__ import annotations

from collections.abc import Iterator

from surveys.models import Kind

from ._answers import low_answers, newest_response_id
from .base import Context, Match, as_int, finish

CONDITION = "csat_low"
SPEED = "fast"
DEFAULTS = {"max_score": 2, "within_days": 14}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {
        "max_score": as_int(params, "max_score", 2, low=1, high=4, errors=errors),
        "within_days": as_int(params, "within_days", 14, low=1, high=365, errors=errors),
    }
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    days = params["within_days"]
    return f"A contact answers CSAT {params['max_score']} or lower (answers of the last {days} days)"


def reason(params: dict, values: dict) -> str:
    many = f" ({values['answers']} low answers)" if values.get("answers", 1) > 1 else ""
    return f"Low CSAT: a contact answered {values['score']}/5{many}"


def cursor_upto() -> int:
    return newest_response_id()


def matches(ctx: Context) -> Iterator[Match]:
    return low_answers(
        ctx,
        kind=Kind.CSAT,
        max_score=ctx.params["max_score"],
        within_days=ctx.params["within_days"],
        upto_id=ctx.upto or 0,
    )
