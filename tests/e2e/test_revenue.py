"""Revenue page in a browser: charts drawn by the vendored Chart.js; a tile opens the customers behind it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from metrics.forms import period_bounds
from tests.factories import CustomerFactory
from tests.metrics.conftest import ledger

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_reads_revenue_and_opens_the_churned_customers(page, manager, console_errors, screenshot):
    first_day, _ = period_bounds("month", timezone.localdate())
    before = first_day.replace(year=first_day.year - 1)
    stays = CustomerFactory(name="Stays Inc")
    leaves = CustomerFactory(name="Leaves Ltd")
    ledger([(stays, before.isoformat(), 500), (leaves, before.isoformat(), 300)])
    ledger([(stays, first_day.isoformat(), 650), (leaves, first_day.isoformat(), 0)])

    log_in(page, manager.email, "pass-1234-word")
    page.goto(f"/revenue/?whose=all&period=month&date={first_day.isoformat()}")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 3")
    tile = page.locator('.tile[data-metric="churn"]')
    assert "50.0 %" in tile.inner_text()
    assert tile.locator(".metric-def").get_attribute("title").startswith("Share of the customers")
    assert page.locator("#waterfall-table tbody tr").count() == 12
    screenshot(page, "revenue-desktop")

    tile.locator("a").click()
    page.wait_for_url("**/revenue/customers/**")
    rows = page.locator("#revenue-customers tbody tr")
    assert rows.count() == 1
    assert "Leaves Ltd" in rows.first.inner_text()
    assert console_errors == []
