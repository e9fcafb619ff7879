"""Number formats shared by the dashboard screens: {% load cshub_format %} then |pct, |money, |days."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

DASH = "—"


def _grouped(value: Decimal, places: int) -> str:
    """`value` with `places` decimals and thousands separators, as humanize's intcomma writes them in en-us
    (LANGUAGE_CODE): "12,345.6". Python's own format, because intcomma's locale machinery costs ~15 µs a
    call and the team page formats about 2,000 numbers."""
    text = f"{value:,.{int(places)}f}"
    return "0" if text == "-0" else text  # intcomma read "-0" as the integer 0 (but kept "-0.0")


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
    text = _grouped(abs(amount), places)
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
    return f"{sign}${_grouped(size, 0)}"


@register.filter
def num(value: Decimal | float | None, places: int = 1) -> str:
    """A number with `places` decimals; null → "—"."""
    if value is None or value == "":
        return DASH
    return _grouped(Decimal(str(value)), places)
