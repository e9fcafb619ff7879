"""What every condition module shares: the evaluation context, a match, and parameter validation helpers.

A condition module (one per docs/playbooks.md condition) defines:
- `CONDITION` (playbooks.models.Condition value), `SPEED` ("fast": every 5 minutes; "nightly": after the
  health recompute), `DEFAULTS` (its parameters with default values);
- `clean(params) -> dict`: validated parameters (raises ValidationError with one message per parameter);
- `describe(params) -> str` and `reason(params, values) -> str`: human text for the library and the run;
- `matches(ctx) -> Iterable[Match]`: the customers that meet the condition, computed in SQL for all customers
  at once and restricted to `ctx.eligible` (a subquery of customer ids the evaluator allows for this trigger).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet


@dataclass(frozen=True)
class Context:
    trigger: Any  # playbooks.models.Trigger
    params: dict[str, Any]
    today: dt.date
    now: dt.datetime
    eligible: QuerySet  # Customer ids (values("pk")) that may get a new run of this playbook
    upto: int | None = None  # cursor conditions: newest row id when the evaluation started


@dataclass(frozen=True)
class Match:
    customer_id: int
    values: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # once-per-occurrence key (see Run.key)


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(round(value, 4))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def as_int(params: dict, name: str, default: int, *, low: int, high: int, errors: dict) -> int:
    raw = params.get(name, default)
    if isinstance(raw, bool):
        errors[name] = "Enter a whole number."
        return default
    try:
        value = int(raw)
        if str(raw).strip() not in (str(value), f"{value}.0"):
            raise ValueError
    except (TypeError, ValueError):
        errors[name] = "Enter a whole number."
        return default
    if not low <= value <= high:
        errors[name] = f"Must be between {low} and {high}."
    return value


def as_number(params: dict, name: str, default: float, *, low: float, high: float, errors: dict) -> float:
    raw = params.get(name, default)
    if isinstance(raw, bool):
        errors[name] = "Enter a number."
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        errors[name] = "Enter a number."
        return default
    if value != value or not low <= value <= high:  # NaN fails too
        errors[name] = f"Must be between {low:g} and {high:g}."
    return value


def as_choice(params: dict, name: str, default: str, *, choices: tuple[str, ...], errors: dict) -> str:
    value = params.get(name, default)
    if value not in choices:
        errors[name] = f"Choose one of {', '.join(choices)}."
        return default
    return value


def finish(params: dict, cleaned: dict, errors: dict) -> dict:
    unknown = set(params) - set(cleaned)
    for name in sorted(unknown):
        errors[name] = "Unknown parameter."
    if errors:
        raise ValidationError(errors)
    return cleaned
