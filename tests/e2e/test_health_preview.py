"""The health model editor in Chromium: a proposal's preview appears on the page, nothing is saved."""

from __future__ import annotations

import pytest
from django.utils import timezone

from metrics.models import HealthModel
from tests.factories import CustomerFactory, PulseFactory
from tests.metrics.health.conftest import at, usage

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_previews_a_model_change(page, manager, console_errors, screenshot):
    today = timezone.localdate()
    customer = CustomerFactory(name="Greenfield", licenses=10)
    usage(customer, users=10, day=today)
    PulseFactory(customer=customer, score=5, created_at=at(today))

    log_in(page, manager.email, "pass-1234-word")
    page.goto("/health/model/")
    page.fill("input[name='pulse-weight']", "50")
    page.fill("input[name='pulse-bad']", "5")
    page.fill("input[name='pulse-good']", "10")
    page.click("button[value='preview']")
    card = page.locator("[data-testid='health-preview']")
    card.wait_for()
    assert "Greenfield" in card.inner_text()
    assert page.locator("[data-testid='preview-changed']").inner_text() == "1"
    screenshot(page, "health-model-preview")
    assert HealthModel.objects.count() == 1
    assert console_errors == []
