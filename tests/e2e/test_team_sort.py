"""Team page on a phone: the stacked table has no header row, so the "Sort by" control sorts it (htmx, in
place), and a period change keeps the chosen order."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import build_book, make_csm

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_sorts_the_team_on_a_phone(phone_page, manager, csm, console_errors, screenshot):
    small = csm  # "Casey Csm": first by name
    big = make_csm("zed.csm@example.com", manager)  # "Zed.Csm": last by name, bigger book
    build_book(small, 2, seed=1, prefix="S")
    build_book(big, 5, seed=2, prefix="B")
    page = phone_page

    log_in(page, manager.email, "pass-1234-word")
    page.goto("/team/")
    first_csm = page.locator("#team-table tbody tr").first
    assert "Casey" in first_csm.inner_text()
    assert not page.locator("#team-table thead").is_visible()  # stacked: no header to click

    with page.expect_response(lambda r: "sort=-book" in r.url):
        page.select_option("#id_team_sort", "-book")
    page.wait_for_function("() => document.querySelector('#team-table tbody tr').innerText.includes('Zed')")
    assert "sort=-book" in page.url
    assert page.locator("#id_team_sort").input_value() == "-book"
    screenshot(page, "team-phone-sorted")

    page.select_option("#id_period", index=1)  # another quarter, through the form (Apply)
    page.click("#team-filters button[type=submit]")
    page.wait_for_load_state()
    assert "sort=-book" in page.url
    assert page.locator("#id_team_sort").input_value() == "-book"
    assert console_errors == []
