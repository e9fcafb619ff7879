"""End to end in Chromium: the nightly job drops a customer into red → the red-health rescue starts → the CSM
logs in, finds the task in My tasks, completes it (htmx) → the run page shows the progress."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from playbooks.models import Run, Task, TaskStatus
from playbooks.starter import playbooks_install_starter
from tests.conftest import PASSWORD
from tests.requirements import require_chromium

from .test_nightly import struggling_customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIRST_TASK = "Review the health score and its reasons"


def csm_works_the_task(chromium: str, base_url: str, email: str, customer_name: str) -> list[str]:
    """The browser part, in a thread of its own (another module's session-wide Playwright may own the main
    thread's event loop). Returns console errors."""
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base_url)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))

        page.goto("/login/?next=/book/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/book/**")

        page.get_by_role("link", name="My tasks").click()
        page.wait_for_url("**/tasks/")
        row = page.locator(".task-row", has_text=FIRST_TASK)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(customer_name)
        expect(row).to_contain_text("Health entered red")
        page.screenshot(path=str(SCREENSHOTS / "playbooks-01-inbox.png"), full_page=True)

        row.get_by_label(f"Note for “{FIRST_TASK}”").fill(
            "Usage and support load dropped; calling the sponsor."
        )
        row.get_by_role("button", name="Complete").click()
        finished = page.locator(".task-row--finished", has_text=FIRST_TASK)
        expect(finished).to_be_visible()
        expect(finished).to_contain_text("calling the sponsor")
        page.screenshot(path=str(SCREENSHOTS / "playbooks-02-completed.png"), full_page=True)

        finished.get_by_role("link", name="Red-health rescue").click()
        page.wait_for_url("**/playbooks/runs/**")
        expect(page.locator("#run-progress")).to_have_text("1 of 4 tasks")
        expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "25")
        expect(page.locator("body")).to_contain_text("Current health")
        page.screenshot(path=str(SCREENSHOTS / "playbooks-03-run.png"), full_page=True)

        # Working a task on the run page updates its progress in place (htmx, out-of-band tile).
        plan = page.locator(".task-row", has_text="Agree on a recovery plan")
        plan.get_by_role("button", name="Complete").click()
        expect(page.locator("#run-progress")).to_have_text("2 of 4 tasks")
        expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "50")

        phone = browser.new_context(viewport={"width": 375, "height": 812}, base_url=base_url)
        phone.add_cookies(context.cookies())
        phone_page = phone.new_page()
        phone_page.goto("/tasks/")
        phone_page.screenshot(path=str(SCREENSHOTS / "playbooks-04-inbox-phone.png"), full_page=True)
        browser.close()
    return errors


def manager_screens(chromium: str, base_url: str, email: str, customer_path: str) -> list[str]:
    """The manager's side: library, team tasks, bulk assign (start a playbook for the red customers), the
    customer page panel."""
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base_url).new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto("/login/?next=/book/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/book/**")

        page.get_by_role("link", name="Playbooks").click()
        expect(page.locator("#library")).to_contain_text("Red-health rescue")
        expect(page.locator("#library")).to_contain_text("fired 1")
        page.screenshot(path=str(SCREENSHOTS / "playbooks-05-library.png"), full_page=True)

        page.goto("/tasks/team/")
        expect(page.locator("#team-tasks")).to_contain_text("Casey Csm")
        page.screenshot(path=str(SCREENSHOTS / "playbooks-06-team.png"), full_page=True)

        page.goto("/playbooks/assign/")
        page.get_by_label("Health band").select_option("red")
        page.get_by_role("button", name="Filter").click()
        page.get_by_label("Playbook").select_option(label="Onboarding")
        page.get_by_role("button", name="Start for all 1 matching").click()
        expect(page.get_by_test_id("assign-confirm")).to_contain_text("Customers")  # asks before starting
        page.get_by_role("button", name="Start for 1 customer").click()
        expect(page.locator(".alert--success")).to_contain_text("for 1 customer")
        page.screenshot(path=str(SCREENSHOTS / "playbooks-07-assign.png"), full_page=True)

        page.goto(customer_path)
        expect(page.locator("#customer-panels")).to_contain_text("Onboarding")
        page.locator("#customer-panels").screenshot(path=str(SCREENSHOTS / "playbooks-08-customer-panel.png"))
        browser.close()
    return errors


def test_nightly_red_to_completed_task_in_chromium(live_server, csm, manager):
    chromium = require_chromium()
    playbooks_install_starter()  # transactional tests start from a flushed database
    customer = struggling_customer(csm, timezone.localdate())

    call_command("recompute_health", "--date", timezone.localdate().isoformat())  # the nightly job
    run = Run.objects.get(customer=customer, playbook__name="Red-health rescue")
    assert run.assignee == csm

    with ThreadPoolExecutor(max_workers=1) as pool:
        errors = pool.submit(csm_works_the_task, chromium, live_server.url, csm.email, customer.name).result()

    assert errors == []
    task = Task.objects.get(run=run, title=FIRST_TASK)
    assert task.status == TaskStatus.DONE
    assert task.completed_by == csm
    assert run.tasks.filter(status=TaskStatus.DONE).count() == 2

    with ThreadPoolExecutor(max_workers=1) as pool:
        path = customer.get_absolute_url()
        errors = pool.submit(manager_screens, chromium, live_server.url, manager.email, path).result()
    assert errors == []
    assert Run.objects.filter(customer=customer, playbook__name="Onboarding", started_by=manager).exists()
