"""core.numbers: the one ratio, money quantized to cents, and the formatters behind the template filters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.numbers import (
    DASH,
    api_rate,
    format_health,
    format_money,
    format_money_short,
    format_number,
    format_percent,
    quantize_money,
    ratio,
    round_health,
)
from core.templatetags import cshub_format

# --- ratio ----------------------------------------------------------------------------------------


def test_ratio_is_null_when_undefined():
    assert ratio(5, 0) is None
    assert ratio(Decimal("5.00"), Decimal("0.00")) is None
    assert ratio(0, 0) is None


def test_ratio_is_an_unrounded_decimal():
    assert ratio(1, 4) == Decimal("0.25")
    assert ratio(2, 3) == Decimal(2) / Decimal(3)  # the context's 28 digits, no quantization
    assert ratio(Decimal("150.00"), Decimal("100.00")) == Decimal("1.5")
    assert ratio(0, 7) == 0
    assert isinstance(ratio(1, 3), Decimal)


# --- quantize_money -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "0.00"),
        (0, "0.00"),
        (Decimal("12.3"), "12.30"),
        (Decimal("1234567.891"), "1234567.89"),
        (30.300000000000004, "30.30"),  # SQLite's SUM over 10.10 x 3, as a float
        (Decimal("-0.5"), "-0.50"),
        (7, "7.00"),
    ],
)
def test_quantize_money_has_two_places(value, expected):
    result = quantize_money(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected


# --- Text for people ------------------------------------------------------------------------------


def test_format_money_short():
    assert format_money_short(Decimal("940")) == "$940"
    assert format_money_short(Decimal("9999.6")) == "$10,000"
    assert format_money_short(Decimal("12345")) == "$12K"
    assert format_money_short(Decimal("738400")) == "$738K"
    assert format_money_short(Decimal("2810000")) == "$2.8M"
    assert format_money_short(Decimal("-12345")) == "\u2212$12K"
    assert format_money_short(None) == DASH


def test_format_money_percent_and_number():
    assert format_money(Decimal("12345.6")) == "$12,346"
    assert format_money(Decimal("12345.6"), 2) == "$12,345.60"
    assert format_money(Decimal("-1")) == "\u2212$1"
    assert format_percent(Decimal("0.975")) == "97.5\u00a0%"
    assert format_percent(0.5, 0) == "50\u00a0%"
    assert format_number(Decimal("1234.56"), 1) == "1,234.6"
    assert format_number(Decimal("-0.4"), 0) == "0"
    for formatter in (format_money, format_money_short, format_percent, format_number):
        assert formatter(None) == DASH
        assert formatter("") == DASH


def test_the_template_filters_are_these_formatters():
    assert cshub_format.money is format_money
    assert cshub_format.money_short is format_money_short
    assert cshub_format.pct is format_percent
    assert cshub_format.num is format_number
    assert set(cshub_format.register.filters) >= {"money", "money_short", "pct", "num"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (Decimal("0.97512"), 0.9751), (Decimal("1"), 1.0), (Decimal("0.00016"), 0.0002)],
)
def test_api_rate_is_a_fraction_to_four_places_and_null_stays_null(value, expected):
    assert api_rate(value) == expected


def test_health_is_whole_points_everywhere_rounded_half_up():
    assert format_health(Decimal("72.5")) == "73"
    assert format_health(Decimal("72.4")) == "72"
    assert format_health(None) == "\u2014"
    assert round_health(Decimal("-0.4")) == 0
    assert round_health(Decimal("-0.5")) == -1
