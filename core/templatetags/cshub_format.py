"""Number formats shared by the screens: {% load cshub_format %} then |pct, |money, |health, |health_round.

Each filter is a core.numbers formatter, so Python code (e.g. the Revenue page's tiles) writes the same text.
"""

from __future__ import annotations

from django import template

from core.numbers import (
    format_health,
    format_money,
    format_money_short,
    format_number,
    format_percent,
    round_health,
)

register = template.Library()

__all__ = ["health", "health_round", "money", "money_short", "num", "pct", "register"]

pct = register.filter("pct", format_percent)
money = register.filter("money", format_money)
money_short = register.filter("money_short", format_money_short)
num = register.filter("num", format_number)
health = register.filter("health", format_health)
health_round = register.filter("health_round", round_health)
