"""The factor registry (docs/health.md). Each factor is one module of this package that defines a `Factor`
subclass decorated with `@register`; adding a factor is adding one file (and listing it in FACTOR_MODULES).

A factor computes its raw value for MANY customers at once, in SQL, as of a day, and answers
{customer_id: Reading}. A customer absent from the answer (or with `value=None`) has the factor *missing*
— no data, which is not the same as zero.

An **excused** reading (docs/health.md#missing-is-not-perfect) is a factor that does not apply: its source
sends nothing to this install (no ticket feed, no survey answers, no pulses, no touchpoints, no licenses, no
key features for anyone) or the customer is too young for it (usage trend before day 60, revenue trend before
day 90). An excused factor counts neither as present nor in the weight the "enough data" rule compares with,
so a new customer is scored on what exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, ClassVar

from django.utils import timezone


@dataclass(frozen=True)
class Reading:
    value: float | None
    as_of: dt.date | None = None  # freshness: the date of the newest input behind the value
    detail: dict[str, Any] = field(default_factory=dict)  # numbers the "what moved" sentence quotes
    excused: bool = False  # the factor does not apply (value None): see the module docstring


def excused(reason: str) -> Reading:
    """A reading for a factor that does not apply to the customer, with the reason in words."""
    return Reading(value=None, detail={"excused": reason}, excused=True)


def excuse_all(customer_ids: list[int], reason: str) -> dict[int, Reading]:
    """Every customer excused: the factor's source sends nothing to this install."""
    reading = excused(reason)
    return dict.fromkeys(customer_ids, reading)


def source_live(key: str, day: dt.date, check: Any) -> bool:
    """Whether a factor's source has data for any customer (install-wide) as of `day`: `check()`, evaluated
    once per open shared scan (one recompute chunk), key and day."""
    from .usage_window import shared_cache

    cache = shared_cache()
    if cache is None:
        return bool(check())
    hit = cache.get(("live", key, day))
    if hit is None:
        hit = cache[("live", key, day)] = bool(check())
    return hit


class Factor:
    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]  # the raw value, in words, for the model editor
    default_weight: ClassVar[float]
    default_bad: ClassVar[float]
    default_good: ClassVar[float]
    window: ClassVar[str] = ""  # shown as freshness when a factor has no single as-of date (surveys)

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        raise NotImplementedError

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        return "\u2013" if value is None else f"{value:g}"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        """One sentence on how this component moved, e.g. "Active users fell from 42 to 18 of 60 licenses"."""
        was = _fmt_raw(self, before)
        now = _fmt_raw(self, after)
        if before is None or before.get("raw_value") is None:
            return f"{self.label} is now {now}"
        if after.get("raw_value") is None:
            return f"{self.label} has no data any more (was {was})"
        verb = change_verb(before["raw_value"], after["raw_value"])
        return f"{self.label} {verb} from {was} to {now}"


def change_verb(before: float, after: float) -> str:
    if after > before:
        return "rose"
    if after < before:
        return "fell"
    return "stayed"


def _fmt_raw(factor: Factor, component: dict[str, Any] | None) -> str:
    if component is None:
        return "\u2013"
    return factor.format_raw(component.get("raw_value"), component.get("detail") or {})


class _Registry(dict):
    """The registered factors, which also answers for the per-feature factors `feature:<name>`
    (factors/feature_usage.py) without listing them: iterating gives the registered factors only (what the
    editor offers every model), while a model that holds a feature factor finds it by its key."""

    def __missing__(self, key: str) -> Factor:
        factor = _dynamic(key)
        if factor is None:
            raise KeyError(key)
        return factor

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (isinstance(key, str) and _dynamic(key) is not None)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


_DYNAMIC: dict[str, Factor] = {}


def _dynamic(key: str) -> Factor | None:
    from .feature_usage import FeatureUsage, is_feature_key

    if not is_feature_key(key):
        return None
    if key not in _DYNAMIC:
        _DYNAMIC[key] = FeatureUsage(key.split(":", 1)[1])
    return _DYNAMIC[key]


REGISTRY: dict[str, Factor] = _Registry()

# The default model's order (docs/health.md table). A new factor module is added here.
FACTOR_MODULES = [
    "license_utilization",
    "relative_usage",
    "usage_trend",
    "feature_breadth",
    "key_activity",
    "revenue_trend",
    "support_load",
    "nps",
    "csat",
    "pulse",
    "engagement",
    "tenure",
]


def register(cls: type[Factor]) -> type[Factor]:
    REGISTRY[cls.key] = cls()
    return cls


def get_factor(key: str) -> Factor:
    load()
    return REGISTRY[key]


def load() -> dict[str, Factor]:
    for name in FACTOR_MODULES:
        import_module(f"{__name__}.{name}")
    return REGISTRY


def id_range(customer_ids: list[int], field: str = "customer_id") -> dict[str, int]:
    """Filter kwargs for the id range spanning `customer_ids` (chunks are id ranges): an index range scan is
    cheaper than a long IN list, and the caller keeps only the customers it asked for. Ids scattered over a
    wide range (the live recompute's dirty customers, docs/health.md#live-data) are an IN list instead: the
    range would read nearly every customer's rows for a handful of them."""
    if not customer_ids:
        return {f"{field}__in": []}
    low, high = min(customer_ids), max(customer_ids)
    if high - low >= 2 * len(customer_ids):
        return {f"{field}__in": sorted(set(customer_ids))}
    return {f"{field}__gte": low, f"{field}__lte": high}


def as_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return dt.date.fromisoformat(str(value)[:10])
