"""Real-browser fixtures: Playwright's sync API driving the system Chromium against Django's live_server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.requirements import require_chromium

# live_server runs in a thread while Playwright's sync API runs an event loop in this one.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleErrors(list):
    """Console errors and uncaught exceptions seen by a page (tests assert it stays empty)."""


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


def _new_page(browser, live_server, console_errors: ConsoleErrors, viewport: dict):
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    return context, page


@pytest.fixture
def page(browser, live_server, console_errors):
    """A 1440px-wide page on the live server."""
    context, page = _new_page(browser, live_server, console_errors, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server, console_errors):
    """A 375px-wide page on the live server."""
    context, page = _new_page(browser, live_server, console_errors, PHONE)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves test-artifacts/screenshots/name.png (full page) and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # From the top: a scrolled page renders its sticky top bar in the middle of a full-page capture.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def log_in(page, email: str, password: str) -> None:
    """Log in through the real login form."""
    page.goto("/login/?next=/book/")  # the Book: these flows start there (home is the dashboard)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/book/**")
