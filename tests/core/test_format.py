"""The number filters of cshub_format write what humanize's intcomma wrote (en-us), without its cost."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from hypothesis import given
from hypothesis import strategies as st

from core.templatetags.cshub_format import money, money_short, num, pct

amounts = st.decimals(min_value=-(10**10), max_value=10**10, places=4, allow_nan=False, allow_infinity=False)


@given(value=amounts, places=st.integers(min_value=0, max_value=3))
def test_num_groups_thousands_as_intcomma_did(value, places):
    assert num(value, places) == intcomma(f"{value:.{places}f}")


@given(value=amounts)
def test_money_groups_thousands_as_intcomma_did(value):
    text = intcomma(f"{abs(value):.0f}")
    assert money(value) == (f"\u2212${text}" if value < 0 else f"${text}")


def test_examples():
    assert num(Decimal("1234567.891"), 2) == "1,234,567.89"
    assert num(Decimal("-0.4"), 0) == "0"
    assert num(None) == "—"
    assert money(Decimal("-12345.6")) == "\u2212$12,346"
    assert money_short(Decimal("9999")) == "$9,999"
    assert money_short(Decimal("23100000")) == "$23.1M"
    assert pct(Decimal("0.975")) == "97.5\u00a0%"
