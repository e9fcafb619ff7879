"""The pages issue #21 changed, in Chromium at 1440 px and 375 px on the demo company (seeded once, in the one
test below, since a transactional test's data does not outlive it): no page scrolls sideways, no element pokes
out of its card, and the behaviour each fix added works in a real browser (the revenue scope and period, the
waterfall note, scroll hints, the customer picker's search, My tasks' header and toast)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.demo.context import DEMO_DOMAIN, DEMO_PASSWORD
from accounts.models import Customer
from metrics.models import Renewal
from playbooks.models import Task, TaskStatus

from .conftest import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Elements wider than their card, unless an ancestor inside the card clips or scrolls them on purpose
# (a .table-wrap that scrolls sideways, an ellipsis).
OUTSIDE_CARDS = """() => {
  const out = [];
  document.querySelectorAll('.card, .tile').forEach(card => {
    const box = card.getBoundingClientRect();
    card.querySelectorAll('*').forEach(el => {
      const r = el.getBoundingClientRect();
      if (!r.width || (r.right <= box.right + 1 && r.left >= box.left - 1)) return;
      for (let a = el.parentElement; a && a !== card; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return;
      }
      out.push(`${el.tagName.toLowerCase()}.${el.className} "${(el.textContent || '').trim().slice(0, 40)}"`);
    });
  });
  return out.slice(0, 10);
}"""
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# How far a table sticks out of its scrolling .table-wrap (the card hides the rest behind a scroll bar).
WRAP_EXTRA = """sel => {
  const wrap = document.querySelector(sel).closest('.table-wrap');
  return wrap.scrollWidth - wrap.clientWidth;
}"""


def _demo(who: str) -> str:
    return f"{who}@{DEMO_DOMAIN}"


def _fits(page, url: str, where: str, problems: list[str]) -> None:
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    if response is None or response.status != 200:
        problems.append(f"{where} {url}: HTTP {response.status if response else '?'}")
    if (extra := page.evaluate(SIDEWAYS)) > 0:
        problems.append(f"{where} {url}: {extra}px of horizontal scroll")
    if outside := page.evaluate(OUTSIDE_CARDS):
        problems.append(f"{where} {url}: outside their card: {outside}")


def test_changed_pages_fit_and_work_at_desktop_and_phone(browser, live_server, screenshot):
    call_command("seed_demo", "--customers", "60", stdout=None)
    renewing = (
        Customer.objects.filter(pk__in=Renewal.objects.values("customer_id")).order_by("external_id").first()
    )
    pages = [
        "/revenue/",
        renewing.get_absolute_url(),
        "/team/",
        "/trends/",
        "/health/model/",
        "/imports/",
        "/surveys/",
        "/surveys/campaigns/new/",
        "/playbooks/assign/",
        "/tasks/",
    ]
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc, errors=errors: errors.append(f"uncaught: {exc}"))
        log_in(page, _demo("alex"), DEMO_PASSWORD)
        width = viewport["width"]
        for url in pages:
            _fits(page, url, f"admin {width}px", problems)
        if errors:
            problems.append(f"admin {width}px: console errors {errors[:3]}")

        # The editor's factor table is wider than a phone: the hint says so, on the desktop nothing does.
        page.goto("/health/model/")
        hint = page.locator(".scroll-hint").first
        if viewport is PHONE:
            expect(hint).to_be_visible()
            expect(hint).to_contain_text("Scroll sideways")
        else:
            expect(page.get_by_test_id("factor-table").locator("xpath=..").locator("..")).not_to_contain_text(
                "Scroll sideways"
            )

        page.goto(renewing.get_absolute_url())
        screenshot(page, f"finish-customer-{width}")
        if viewport is DESKTOP:  # at 1440 px the Renewals table and the team table fit without scrolling
            assert page.evaluate(WRAP_EXTRA, "[data-testid=renewals]") <= 0
        page.goto("/team/")
        screenshot(page, f"finish-team-{width}")
        if viewport is DESKTOP:
            assert page.evaluate(WRAP_EXTRA, "#team-table") <= 0
        context.close()

    # A manager's revenue: their teams by default, named in the title, over the last complete month in words
    # next to every rate; the bridge is a floating waterfall that says where its axis starts.
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    log_in(page, _demo("marcus"), DEMO_PASSWORD)
    page.goto("/revenue/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 3")
    expect(page.locator("h1")).to_have_text("Revenue · Your teams")
    period = page.locator("#revenue-period").inner_text()
    assert page.locator('.tile[data-metric="nrr"] .tile__period').inner_text() == period
    expect(page.locator("#bridge-note")).to_contain_text("not $0")
    screenshot(page, "finish-revenue-1440")
    page.locator("#id_whose").select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("Revenue · All customers")

    # The campaign picker: a search box narrows the tick boxes; a ticked customer stays in view.
    page.goto("/surveys/campaigns/new/")
    items = page.locator(".picker__item")
    total = items.count()
    first = items.first.inner_text().strip()
    items.first.locator("input").check()
    expect(page.locator("[data-picker-count]")).to_have_text("1 picked")
    page.locator("[data-picker-search]").fill(items.nth(1).inner_text().strip())
    visible = page.locator(".picker__item:visible")
    assert 1 < visible.count() < total  # the match, and the ticked one
    expect(visible.first).to_contain_text(first)
    context.close()

    # My tasks: Complete updates the header's counts at once and confirms with a toast.
    task = (
        # one that Complete may close (a step that needs a logged call completes only with the call)
        Task.objects.filter(
            status=TaskStatus.OPEN, run__status="open", assignee__isnull=False, required_touchpoint_kind=""
        )
        .select_related("assignee")
        .order_by("due_date", "pk")
        .first()
    )
    csm = task.assignee
    open_before = Task.objects.filter(assignee=csm, status=TaskStatus.OPEN, run__status="open").count()
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    log_in(page, csm.email, DEMO_PASSWORD)
    page.goto("/tasks/")
    counts = page.locator("#inbox-counts")
    expect(counts).to_contain_text(f"{open_before} open task")
    row = page.locator(f"#task-{task.pk}")
    row.get_by_role("button", name="Complete").click()
    expect(row).to_contain_text("Done")
    expect(counts).to_contain_text(f"{open_before - 1} open task")
    expect(page.locator(".toast--success")).to_contain_text(f"“{task.title}” done.")
    screenshot(page, "finish-tasks-375")
    context.close()

    assert problems == [], "\n".join(problems)
