"""Every main page, for every role, at 375 px and 1440 px in Chromium: it loads, the console stays clean, a
phone never scrolls sideways, and a screenshot lands in test-artifacts/screenshots/pages/ to look at."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from metrics.health.services import health_model_current
from metrics.models import HealthSnapshot
from playbooks.starter import playbooks_install_starter
from surveys.models import Response
from tests.conftest import PASSWORD
from tests.dashboard.conftest import build_book, make_csm
from tests.e2e.conftest import CHROMIUM_ARGS, DESKTOP, PHONE, SCREENSHOTS, log_in  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

OUT = SCREENSHOTS / "pages"

# (name, path or callable(customer) -> path, roles that have the page in their navigation)
ALL = ("csm", "manager", "admin")
STAFF = ("manager", "admin")
PAGES = [
    ("home", "/", ALL),
    ("trends", "/trends/", ALL),
    ("book", "/book/", ALL),
    ("customer", None, ALL),
    ("revenue", "/revenue/", ALL),
    ("surveys", "/surveys/", ALL),
    ("health-model", "/health/model/", STAFF),
    ("health-backtest", "/health/backtest/", STAFF),
    ("playbooks", "/playbooks/", STAFF),
    ("tasks", "/tasks/", ALL),
    ("team", "/team/", STAFF),
    ("integrations", "/integrations/", ("admin",)),
]


def _world(csm, manager) -> Customer:
    """A small company with every kind of data the pages show; returns a customer of `csm`."""
    playbooks_install_starter()  # transactional tests start from a flushed database
    model = health_model_current()
    second = make_csm("second.csm@example.com", manager)
    books = build_book(csm, 14, seed=1, prefix="A") + build_book(second, 10, seed=2, prefix="B")
    today = timezone.localdate()
    snapshots = []
    for i, c in enumerate(books):
        band, score = [("red", 30), ("yellow", 55), ("green", 82)][i % 3]
        c.health_score, c.health_band, c.health_as_of = Decimal(score), band, today
        c.health_change_7d = Decimal(-(i % 5) * 4)
        c.renewal_date = today + dt.timedelta(days=10 + 9 * i)
        pulse = {"factor": "pulse", "raw_value": 2.0, "score": 25, "weight": 50, "contribution": 12.5}
        was = {**pulse, "raw_value": 4.0, "score": 75, "contribution": 37.5}
        for day, b, s, comp in [
            (today, band, score, pulse),
            (today - dt.timedelta(days=7), band, score + 8, was),
            (today.replace(day=1) - dt.timedelta(days=1), "yellow", 50, was),
        ]:
            snapshots.append(
                HealthSnapshot(customer=c, date=day, band=b, score=s, model=model, components=[comp])
            )
    Customer.objects.bulk_update(
        books, ["health_score", "health_band", "health_as_of", "health_change_7d", "renewal_date"]
    )
    HealthSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
    now = timezone.now()
    Response.objects.bulk_create(
        Response(
            customer=c,
            contact_email=f"r{i}@x.example",
            kind="nps",
            score=i % 11,
            answered_at=now - dt.timedelta(days=i * 3),
        )
        for i, c in enumerate(books)
    )
    return books[0]


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("role", ALL)
def test_every_main_page_loads_cleanly_for_every_role_at_phone_and_desktop(
    role, browser, live_server, csm, manager, admin_user
):
    customer = _world(csm, manager)
    user = {"csm": csm, "manager": manager, "admin": admin_user}[role]
    OUT.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for viewport in (PHONE, DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None
        )
        page.on("pageerror", lambda exc, errors=errors: errors.append(f"uncaught: {exc}"))
        log_in(page, user.email, PASSWORD)
        for name, path, roles in PAGES:
            if role not in roles:
                continue
            url = path or customer.get_absolute_url()
            response = page.goto(url)
            page.wait_for_load_state("networkidle")
            where = f"{role} {name} {viewport['width']}px"
            if response is None or response.status != 200:
                problems.append(f"{where}: HTTP {response.status if response else '?'}")
            if errors:
                problems.append(f"{where}: console errors {errors[:3]}")
                errors.clear()
            if viewport is PHONE and (extra := _overflow(page)) > 0:
                problems.append(f"{where}: {extra}px of horizontal overflow")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(OUT / f"{role}-{name}-{viewport['width']}.png"), full_page=True)
        context.close()
    assert not problems, "\n".join(problems)


def test_home_loads_its_trends_and_the_team_page_sorts(browser, live_server, csm, manager):
    _world(csm, manager)
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    log_in(page, manager.email, PASSWORD)
    page.goto("/")
    page.get_by_role("heading", name="Health band mix, 12 months").wait_for()
    assert page.locator("#trends canvas").count() == 2  # both charts drawn from their json_script data
    page.goto("/team/?period=2025-Q2")
    page.get_by_role("link", name="ARR").click()
    page.wait_for_url("**sort=arr**")
    page.get_by_role("link", name="ARR").click()
    page.wait_for_url("**sort=-arr**")
    first = page.locator("#team-table tbody tr").first.locator("td").first.inner_text()
    assert "Casey Csm" in first or "Second.Csm" in first
    page.get_by_role("link", name="Casey Csm").click()
    page.wait_for_url(f"**/book/?csm={csm.pk}")
    context.close()
