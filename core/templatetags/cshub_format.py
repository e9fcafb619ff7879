"""Number formats shared by the dashboard screens: {% load cshub_format %} then |pct, |money, |days.

Each filter is a core.numbers formatter, so Python code (e.g. the Revenue page's tiles) writes the same text.
"""

from __future__ import annotations

from django import template

from core.numbers import format_money, format_money_short, format_number, format_percent

register = template.Library()

__all__ = ["money", "money_short", "num", "pct", "register"]

pct = register.filter("pct", format_percent)
money = register.filter("money", format_money)
money_short = register.filter("money_short", format_money_short)
num = register.filter("num", format_number)
