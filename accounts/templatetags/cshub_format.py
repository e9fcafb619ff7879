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
    return f"{Decimal(str(value)) * 100:.{int(places)}f}\u00a0%"  # no line break before the %


@register.filter
def money(value: Decimal | float | None, places: int = 0) -> str:
    """Dollars with thousands separators ("$12,345"); null → "—"."""
    if value is None or value == "":
        return DASH
    amount = Decimal(str(value))
    text = intcomma(f"{abs(amount):.{int(places)}f}")
    return f"\u2212${text}" if amount < 0 else f"${text}"


@register.filter
def money_short(value: Decimal | float | None) -> str:
    """Dollars for a tile: "$23.1M", "$738K", "$950"; null → "—"."""
    if value is None or value == "":
        return DASH
    amount = Decimal(str(value))
    size = abs(amount)
    sign = "\u2212" if amount < 0 else ""
    if size >= 1_000_000:
        return f"{sign}${size / 1_000_000:.1f}M"
    if size >= 10_000:
        return f"{sign}${size / 1_000:.0f}K"
    return f"{sign}${intcomma(f'{size:.0f}')}"


@register.filter
def num(value: Decimal | float | None, places: int = 1) -> str:
    """A number with `places` decimals; null → "—"."""
    if value is None or value == "":
        return DASH
    return intcomma(f"{Decimal(str(value)):.{int(places)}f}")
