"""The Book's health column: sort by score, filter by band, 7-day change (fields kept by the recompute)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(csm):
    today = dt.date(2026, 11, 22)
    return {
        "red": CustomerFactory(
            csm=csm,
            name="Alpha Red",
            health_score=Decimal("31.5"),
            health_band="red",
            health_change_7d=Decimal("-12.0"),
            health_as_of=today,
        ),
        "green": CustomerFactory(
            csm=csm,
            name="Beta Green",
            health_score=Decimal("88.0"),
            health_band="green",
            health_change_7d=Decimal("4.0"),
            health_as_of=today,
        ),
        "yellow": CustomerFactory(
            csm=csm,
            name="Gamma Yellow",
            health_score=Decimal("55.0"),
            health_band="yellow",
            health_change_7d=None,
            health_as_of=today,
        ),
        "none": CustomerFactory(csm=csm, name="Delta Unscored"),
    }


def _names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def test_book_sorts_by_health_with_unscored_last(csm_client, scored):
    response = csm_client.get(reverse("book"), {"sort": "health"})
    assert _names(response) == ["Alpha Red", "Gamma Yellow", "Beta Green", "Delta Unscored"]
    response = csm_client.get(reverse("book"), {"sort": "-health"})
    assert _names(response) == ["Beta Green", "Gamma Yellow", "Alpha Red", "Delta Unscored"]


def test_book_sorts_by_biggest_seven_day_drop(csm_client, scored):
    response = csm_client.get(reverse("book"), {"sort": "health_change"})
    assert _names(response)[:2] == ["Alpha Red", "Beta Green"]


@pytest.mark.parametrize(
    ("band", "expected"),
    [
        ("red", ["Alpha Red"]),
        ("green", ["Beta Green"]),
        ("yellow", ["Gamma Yellow"]),
        ("none", ["Delta Unscored"]),
    ],
)
def test_book_filters_by_band(csm_client, scored, band, expected):
    response = csm_client.get(reverse("book"), {"band": band})
    assert _names(response) == expected


def test_book_shows_score_band_and_change(csm_client, scored):
    html = csm_client.get(reverse("book")).content.decode()
    assert "score score--red" in html
    assert ">32<" in html  # 31.5 shown rounded
    assert "▼ \u221212" in html
    assert "▲ +4" in html


def test_book_change_that_rounds_to_zero_is_neutral_not_a_red_drop(csm_client, csm):
    CustomerFactory(
        csm=csm, health_score=Decimal("61.4"), health_band="yellow", health_change_7d=Decimal("-0.4")
    )
    html = csm_client.get(reverse("book")).content.decode()
    assert "▼" not in html
    assert "delta--down" not in html
    assert '<span class="muted">► 0</span>' in html
    assert ">61<" in html


def test_unknown_band_is_ignored_not_an_error(csm_client, scored):
    response = csm_client.get(reverse("book"), {"band": "purple"})
    assert response.status_code == 200
    assert len(_names(response)) == 4
