"""Live data in a real browser (docs/health.md#live-data): a CSM logs a pulse and the health table on the
customer page shows it at once (tasks run inline here, as in `make demo`), stamped "as of HH:MM"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.health.services import health_model_create, health_recompute
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.factories import PulseFactory, TouchpointFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_health_table_changes_after_logging_a_pulse(page, console_errors, csm, customer, screenshot):
    health_model_create(
        factors=[
            {"key": "pulse", "weight": 50, "bad": 1.0, "good": 5.0, "enabled": True},
            {"key": "engagement", "weight": 50, "bad": 60.0, "good": 14.0, "enabled": True},
        ],
        green=Decimal(70),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="pulse and engagement (test)",
    )
    PulseFactory(customer=customer, score=3, created_at=timezone.now() - dt.timedelta(days=5))
    TouchpointFactory(customer=customer, occurred_at=timezone.now() - dt.timedelta(days=3))
    health_recompute(day=timezone.localdate(), run_hooks=False)

    log_in(page, csm.email, PASSWORD)
    page.goto(customer.get_absolute_url())
    components = page.get_by_test_id("health-components")
    pulse_row = components.locator("tr", has_text="CSM pulse")
    expect(pulse_row).to_contain_text("3 / 5")
    expect(page.get_by_test_id("health-score")).to_contain_text("75")  # whole points (core.numbers)

    page.locator("#pulse-form").get_by_text("Good: getting value").click()
    page.locator("#pulse-form").get_by_role("button", name="Log pulse").click()

    expect(pulse_row).to_contain_text("4 / 5")
    expect(page.get_by_test_id("health-score")).to_contain_text("88")  # 87.5, rounded half up
    expect(page.get_by_test_id("health-as-of")).to_contain_text(f"as of {timezone.localtime():%H:}")
    screenshot(page, "live-health-after-pulse")
    assert console_errors == []
