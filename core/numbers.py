"""Numbers shared by every app: the one ratio, money quantized to cents, and numbers as text for people.

Two different jobs are kept apart. quantize_money makes a Decimal with two places — the value the API
answers (docs/api.md: money is a 2-place decimal string) and what an ORM sum is rounded back to. The
format_* functions write text for a person to read ("$12,345", "$12K", "97.5 %"); the template filters of
core/templatetags/cshub_format.py are these functions, and views that build text in Python call them too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DASH = "—"  # an undefined value (null), as text
CENT = Decimal("0.01")


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator ÷ denominator, unrounded. docs/api.md: an undefined value (division by zero) is null,
    never 0."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def quantize_money(value: Any) -> Decimal:
    """Money as a Decimal with exactly two places; None (an empty sum) is 0.00. SQLite answers SUM over
    decimals as a float: its shortest repr rounds back to the cents every input had."""
    return Decimal(str(value or 0)).quantize(CENT)


# --- Text for people ------------------------------------------------------------------------------


def _grouped(value: Decimal, places: int) -> str:
    """`value` with `places` decimals and thousands separators, as humanize's intcomma writes them in en-us
    (LANGUAGE_CODE): "12,345.6". Python's own format, because intcomma's locale machinery costs ~15 µs a
    call and the team page formats about 2,000 numbers."""
    text = f"{value:,.{int(places)}f}"
    return "0" if text == "-0" else text  # intcomma read "-0" as the integer 0 (but kept "-0.0")


def format_percent(value: Decimal | float | None, places: int = 1) -> str:
    """A decimal fraction as a percentage (0.975 → "97.5 %"); null (undefined) → "—"."""
    if value is None or value == "":
        return DASH
    return f"{Decimal(str(value)) * 100:.{int(places)}f}\u00a0%"  # no line break before the %


def format_money(value: Decimal | float | None, places: int = 0) -> str:
    """Dollars with thousands separators ("$12,345"); null → "—"."""
    if value is None or value == "":
        return DASH
    amount = Decimal(str(value))
    text = _grouped(abs(amount), places)
    return f"\u2212${text}" if amount < 0 else f"${text}"


def format_money_short(value: Decimal | float | None) -> str:
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


def format_number(value: Decimal | float | None, places: int = 1) -> str:
    """A number with `places` decimals and thousands separators; null → "—"."""
    if value is None or value == "":
        return DASH
    return _grouped(Decimal(str(value)), places)


def round_health(value: Decimal | float | None) -> int | None:
    """A health score or its change as people read it: a whole number of points, half up (-0.4 is 0, so a
    drop that rounds to nothing is no drop)."""
    if value is None or value == "":
        return None
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_health(value: Decimal | float | None) -> str:
    """A health score on every page: whole points ("72"); null → "—"."""
    rounded = round_health(value)
    return DASH if rounded is None else str(rounded)


def api_rate(value: Decimal | None) -> float | None:
    """A rate as the API answers it: a decimal fraction rounded to 4 places (docs/api.md); null stays null."""
    return None if value is None else float(round(value, 4))
