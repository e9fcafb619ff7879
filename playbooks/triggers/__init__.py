"""The trigger conditions of docs/playbooks.md, one module each (see base.py for what a module defines)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django.core.exceptions import ValidationError

from . import (
    band_entered,
    csat_low,
    license_utilization_below,
    new_customer,
    no_touchpoint,
    nps_detractor,
    renewal_due,
    renewal_risk,
    score_drop,
    usage_drop,
)
from .base import Context, Match

MODULES: dict[str, ModuleType] = {
    m.CONDITION: m
    for m in (
        band_entered,
        score_drop,
        nps_detractor,
        csat_low,
        no_touchpoint,
        renewal_due,
        renewal_risk,
        usage_drop,
        license_utilization_below,
        new_customer,
    )
}
FAST = frozenset(c for c, m in MODULES.items() if m.SPEED == "fast")

__all__ = ["FAST", "MODULES", "Context", "Match", "clean_params", "describe", "module_for"]


def module_for(condition: str) -> ModuleType:
    try:
        return MODULES[condition]
    except KeyError:
        raise ValidationError({"condition": f"Unknown condition {condition!r}."}) from None


def clean_params(condition: str, params: Any) -> dict[str, Any]:
    """The parameters of `condition`, validated and completed with defaults (ValidationError per field)."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "Parameters must be an object."})
    return module_for(condition).clean(params)


def describe(condition: str, params: dict[str, Any]) -> str:
    module = MODULES.get(condition)
    if module is None:
        return condition
    try:
        return module.describe(module.clean(params or {}))
    except ValidationError:
        return f"{condition} (invalid parameters)"
