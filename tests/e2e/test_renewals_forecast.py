"""The renewals forecast in a browser (docs/renewals.md): a CSM sets a category on the customer page, the
manager's Renewals page moves; an outcome is entered, and the MRR ledger, GRR and forecast accuracy follow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.numbers import format_money_short
from metrics.forecast.quarters import quarter_of
from metrics.models import MrrEntry, Renewal
from tests.factories import CustomerFactory
from tests.metrics.conftest import ledger

from .conftest import DESKTOP, PHONE, _new_page, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_category_moves_the_managers_page_and_an_outcome_updates_ledger_grr_and_accuracy(
    browser, live_server, page, csm, manager, console_errors, screenshot
):
    today = timezone.localdate()
    due = min(today + dt.timedelta(days=5), quarter_of(today).end)
    customer = CustomerFactory(name="Northwind Traders", external_id="NW-1", csm=csm)
    ledger([(customer, (today - dt.timedelta(days=90)).isoformat(), "1000.00")])
    renewal = Renewal.objects.create(customer=customer, due_date=due, arr_due=Decimal("12000.00"))
    CustomerFactory(name="Southwind", external_id="SW-1", csm=csm, health_band="red")
    Renewal.objects.create(
        customer=customer.__class__.objects.get(external_id="SW-1"),
        due_date=due,
        arr_due=Decimal("6000.00"),
        category="commit",
    )

    # The manager's page before: nothing forecast for Northwind.
    manager_context, manager_page = _new_page(browser, live_server, console_errors, DESKTOP)
    log_in(manager_page, manager.email, "pass-1234-word")
    manager_page.goto("/renewals/")
    assert manager_page.get_by_test_id("tile-expected").inner_text() == format_money_short(6000)
    assert "commit while the customer is red" in manager_page.get_by_test_id("renewal-flags").inner_text()

    # The CSM forecasts the renewal from the customer page's Renewals card.
    log_in(page, csm.email, "pass-1234-word")
    page.goto("/customers/NW-1/")
    card = page.get_by_test_id(f"renewal-forecast-{renewal.pk}")
    card.locator("summary").click()
    card.get_by_label("Forecast").select_option("commit")
    card.get_by_label("Note").fill("Exec sponsor confirmed budget")
    screenshot(page, "renewals-customer-card")
    card.get_by_role("button", name="Save forecast").click()
    page.wait_for_url("**/customers/NW-1/**")
    assert "Forecast saved" in page.locator(".messages, [role=status]").first.inner_text()
    assert "Commit" in page.get_by_test_id(f"renewal-forecast-{renewal.pk}").inner_text()

    # The manager's page moves.
    manager_page.goto("/renewals/")
    assert manager_page.get_by_test_id("tile-expected").inner_text() == format_money_short(18000)
    screenshot(manager_page, "renewals-desktop")

    # The manager drills into commit and records a downgrade, with the ledger change.
    manager_page.locator("#renewals-by-csm tfoot td[data-label=Commit] a").click()
    manager_page.wait_for_url("**/renewals/list/**bucket=commit**")
    row = manager_page.get_by_test_id("renewal-row-NW-1")
    screenshot(manager_page, "renewals-list")
    row.get_by_role("link", name="Pending — record…").click()
    manager_page.wait_for_url(f"**/renewals/{renewal.pk}/**")
    screenshot(manager_page, "renewal-edit")
    manager_page.get_by_label("Downgraded to").check()
    manager_page.locator("#id_arr").fill("9000")
    assert manager_page.get_by_label("Also record the new MRR").is_checked()
    manager_page.get_by_role("button", name="Record outcome").click()
    manager_page.wait_for_url("**/renewals/list/**")
    assert "$1,000 → $750" in manager_page.locator("body").inner_text()

    entry = MrrEntry.objects.get(customer=customer, effective_date=due)
    assert entry.mrr == Decimal("750.00")

    manager_page.goto("/renewals/")
    assert manager_page.get_by_test_id("tile-renewed").inner_text() == format_money_short(9000)
    # GRR if the forecast holds: (9,000 renewed + 6,000 commit) ÷ 18,000 due.
    assert manager_page.get_by_test_id("tile-forecast-grr").inner_text() == "83.3\u00a0%"
    # Accuracy: expected 12,000 when it closed, actual 9,000 → 1 - 3,000 ÷ 12,000.
    assert manager_page.get_by_test_id("accuracy-total").inner_text() == "75.0\u00a0%"
    manager_context.close()

    phone_context, phone = _new_page(browser, live_server, console_errors, PHONE)
    log_in(phone, manager.email, "pass-1234-word")
    phone.goto("/renewals/")
    screenshot(phone, "renewals-phone")
    phone.goto(f"/renewals/list/?quarter={quarter_of(due).key}")
    screenshot(phone, "renewals-list-phone")
    phone_context.close()
    assert console_errors == []
