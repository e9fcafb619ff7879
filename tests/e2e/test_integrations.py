"""The Integrations page in a real browser: an admin registers an outbound webhook, copies its secret once,
and sees every connector with its activity, on a phone and a desktop without horizontal overflow."""

from __future__ import annotations

import pytest

from integrations import activity
from integrations.slack.services import slack_channel_set
from tests.conftest import PASSWORD

from .conftest import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_registers_an_endpoint_and_reads_the_integrations_page(
    browser, live_server, admin_user, screenshot
):
    slack_channel_set(
        user=admin_user, team=None, webhook_url="https://hooks.slack.com/services/T0/B0/SecretXYZ987"
    )
    activity.record_received("segment", kind="batch", items=1200)
    activity.record_error(
        "stripe",
        "Currency EUR is not the reporting currency (USD)",
        kind="customer.subscription.updated",
        payload={
            "id": "evt_1NQ",
            "type": "customer.subscription.updated",
            "data": {"object": {"currency": "eur"}},
        },
    )
    activity.record_error(
        "webhooks", "https://crm.example.com/hooks: HTTP 503: unavailable", kind="task.completed"
    )
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None
        )
        log_in(page, admin_user.email, PASSWORD)
        if name == "desktop":
            page.goto("/integrations/webhooks/")
            page.get_by_label("Endpoint URL").fill("https://crm.example.com/hooks")
            page.get_by_label("task.completed").check()
            page.get_by_role("button", name="Add endpoint").click()
            secret = page.get_by_test_id("signing-secret").input_value()
            assert secret.startswith("whsec_")
            page.get_by_role("link", name="Done").click()
            assert secret not in page.content()
            screenshot(page, "integrations-webhook-desktop")
        page.goto("/integrations/")
        page.get_by_text("Last 1 error").first.click()
        assert page.get_by_test_id("counts-segment").inner_text().startswith("1,200 events")
        assert "SecretXYZ987" not in page.content()
        assert (
            page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
        )
        screenshot(page, f"integrations-{name}")
        for path in ("/integrations/slack/", "/integrations/webhooks/"):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, path
            screenshot(page, f"integrations-{path.strip('/').replace('/', '-')}-{name}")
        assert errors == []
        context.close()
