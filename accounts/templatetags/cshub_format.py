"""Number formats shared by the dashboard screens: {% load cshub_format %} then |pct, |money, |days."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

DASH = "—"


@register.filter
def pct(value: Decimal | float | None, places: int = 1) -> str:
    """A decimal fraction as a percentage (0.975 → "97.5 %"); null (undefined) → "—"."""
    if value is None or value == "":
        return DASH
    return f"{Decimal(str(value)) * 100:.{int(places)}f} %"


@register.filter
def money(value: Decimal | float | None, places: int = 0) -> str:
    """Dollars with thousands separators ("$12,345"); null → "—"."""
    if value is None or value == "":
        return DASH
    amount = Decimal(str(value))
    text = intcomma(f"{abs(amount):.{int(places)}f}")
    return f"\u2212${text}" if amount < 0 else f"${text}"


@register.filter
def num(value: Decimal | float | None, places: int = 1) -> str:
    """A number with `places` decimals; null → "—"."""
    if value is None or value == "":
        return DASH
    return intcomma(f"{Decimal(str(value)):.{int(places)}f}")
