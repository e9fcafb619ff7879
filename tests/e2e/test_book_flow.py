"""A CSM's day in a real browser: log in, work the Book, open a customer, log a touchpoint and a pulse."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import LifecycleStage, Pulse, Touchpoint
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, CustomerFactory, PulseFactory, TouchpointFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
STAGES = [
    LifecycleStage.ONBOARDING,
    LifecycleStage.ADOPTING,
    LifecycleStage.MATURE,
    LifecycleStage.AT_RENEWAL,
]


@pytest.fixture
def book(csm, customer, other_customer):
    """60 customers for the CSM (more than one page), with contacts, touchpoints and pulses."""
    today = timezone.localdate()
    customers = [customer]
    for i in range(59):
        customers.append(
            CustomerFactory(
                name=f"{['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark'][i % 6]} {i:02d}",
                csm=csm,
                segment=SEGMENTS[i % 3],
                lifecycle_stage=STAGES[i % 4],
                licenses=10 * (i + 1),
                renewal_date=today + dt.timedelta(days=7 * i - 20),
            )
        )
    for i, c in enumerate(customers[:30]):
        TouchpointFactory(customer=c, occurred_at=timezone.now() - dt.timedelta(days=i * 3 + 1))
        PulseFactory(customer=c, score=i % 5 + 1)
    ContactFactory(customer=customer, name="Dana Buyer", email="dana@northwind.example", title="COO")
    ContactFactory(customer=customer, name="Lee Admin", email="lee@northwind.example", title="IT lead")
    return customers


def test_csm_works_the_book_and_logs_activity(page, phone_page, screenshot, console_errors, csm, book):
    customer = book[0]

    # Anonymous → the login page; log in through the form.
    page.goto("/book/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/book/"))
    screenshot(page, "01-login")
    log_in(page, csm.email, PASSWORD)

    # The Book: the CSM's customers only, 50 per page.
    expect(page.get_by_role("heading", name="Your book")).to_be_visible()
    rows = page.locator("#book-table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_text("60 customers in your book")).to_be_visible()
    expect(page.get_by_text("Southpaw Labs")).to_have_count(0)
    screenshot(page, "02-book")

    # Page and filter in place (htmx): the URL follows, the page does not reload.
    page.evaluate("window.__noReload = true")
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows).to_have_count(10)
    expect(page.get_by_text("Showing 51\N{EN DASH}60 of 60 customers")).to_be_visible()
    page.get_by_label("Segment").select_option("Enterprise")
    expect(page).to_have_url(re.compile(r"segment=Enterprise"))
    expect(rows).to_have_count(19)
    expect(
        page.locator("#book-table tbody td[data-label=Segment]").filter(has_not_text="Enterprise")
    ).to_have_count(0)
    page.get_by_role("link", name=re.compile("^Customer")).click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(page).to_have_url(re.compile(r"segment=Enterprise"))
    expect(rows.first).to_contain_text("Initech 02")
    assert page.evaluate("window.__noReload") is True
    screenshot(page, "03-book-filtered")

    # Search, then open the customer.
    page.get_by_label("Segment").select_option("")
    expect(page).not_to_have_url(re.compile(r"segment=Enterprise"))
    expect(page).to_have_url(re.compile(r"sort=name"))  # changing a filter keeps the sort
    page.get_by_label("Search", exact=True).fill("Northwind")  # the Book's own box, not the top bar's
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="Northwind Traders").click()
    expect(page.get_by_role("heading", name="Northwind Traders")).to_be_visible()
    expect(page.get_by_text("Dana Buyer").first).to_be_visible()
    screenshot(page, "04-customer")

    # Log a touchpoint: it appears at the top of the timeline without a reload and the form resets.
    page.evaluate("window.__noReload = true")
    form = page.locator("#touchpoint-form")
    form.get_by_label("Type").select_option("qbr")
    form.get_by_label("Sentiment").select_option("positive")
    form.get_by_label("Summary").fill("QBR with Dana: renewal looks safe, wants SSO next quarter.")
    form.get_by_label("Dana Buyer").check()
    form.get_by_role("button", name="Log touchpoint").click()
    first = page.locator("#timeline > li").first
    expect(first).to_contain_text("renewal looks safe")
    expect(first).to_contain_text("QBR")
    expect(first).to_contain_text("Dana Buyer")
    expect(page.locator("#touchpoint-form")).to_contain_text("Touchpoint logged")
    expect(page.locator("#touchpoint-form").get_by_label("Summary")).to_have_value("")
    expect(page.locator("#customer-snapshot")).to_contain_text("today")
    assert page.evaluate("window.__noReload") is True
    assert Touchpoint.objects.filter(customer=customer, kind="qbr", author=csm).count() == 1

    # A touchpoint without a type: inline error, nothing written.
    form = page.locator("#touchpoint-form")
    form.get_by_label("Summary").fill("Forgot the type")
    form.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#touchpoint-form")).to_contain_text("Choose the type of touchpoint.")
    assert not Touchpoint.objects.filter(summary="Forgot the type").exists()

    # A pulse with a value off the scale (a tampered radio): inline error, nothing written.
    pulses_before = Pulse.objects.filter(customer=customer).count()
    page.locator("#pulse-form input[name=score][value='5']").evaluate(
        "el => { el.value = '6'; el.checked = true }"
    )
    page.locator("#pulse-form").get_by_role("button", name="Log pulse").click()
    expect(page.locator("#pulse-form .field__error")).to_contain_text("Pick a score from 1 to 5")
    assert Pulse.objects.filter(customer=customer).count() == pulses_before
    screenshot(page, "05-customer-errors")

    # A valid pulse lands in the timeline.
    page.locator("#pulse-form").get_by_text("Good: getting value").click()
    page.locator("#pulse-form").get_by_label("Note").fill("Sponsor engaged after the QBR.")
    page.locator("#pulse-form").get_by_role("button", name="Log pulse").click()
    expect(page.locator("#timeline > li").first).to_contain_text("Sponsor engaged after the QBR.")
    expect(page.locator("#customer-snapshot")).to_contain_text("4 / 5")
    assert Pulse.objects.filter(customer=customer).count() == pulses_before + 1
    screenshot(page, "06-customer-logged")

    # Phone width: the Book and the customer page stay usable at 375px.
    log_in(phone_page, csm.email, PASSWORD)
    expect(phone_page.locator("#book-table tbody tr")).to_have_count(50)
    screenshot(phone_page, "07-book-375", full_page=False)
    phone_page.goto(customer.get_absolute_url())
    expect(phone_page.get_by_role("heading", name="Northwind Traders")).to_be_visible()
    overflow = phone_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page scrolls sideways by {overflow}px at 375px"
    screenshot(phone_page, "08-customer-375")
    phone_page.get_by_label("Open menu").click()
    expect(phone_page.locator(".sidebar .nav__link", has_text="Book")).to_be_in_viewport(ratio=1)
    screenshot(phone_page, "09-menu-375", full_page=False)

    assert list(console_errors) == []


def test_manager_switches_between_team_and_one_csm(page, screenshot, console_errors, manager, csm, book):
    teammate = UserFactory(email="terry@example.com", full_name="Terry Teammate")
    csm.teams.first().members.add(teammate)
    CustomerFactory(name="Teammate Co", csm=teammate, segment="SMB")

    log_in(page, manager.email, PASSWORD)
    expect(page.get_by_role("heading", name="Your team's book")).to_be_visible()
    expect(page.get_by_text("61 customers in your team's book")).to_be_visible()
    page.get_by_label("CSM", exact=True).select_option(label="Terry Teammate")
    expect(page).to_have_url(re.compile(rf"csm={teammate.pk}"))
    expect(page.locator("#book-table tbody tr")).to_have_count(1)
    expect(page.locator("#book-table")).to_contain_text("Teammate Co")
    expect(page.get_by_role("heading", name="Terry Teammate's book")).to_be_visible()
    screenshot(page, "10-book-manager")
    assert list(console_errors) == []


def test_error_pages_look_like_the_product(page, screenshot, csm, other_csm):
    log_in(page, csm.email, PASSWORD)
    response = page.goto("/customers/NO-SUCH-ID/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We can't find that page")).to_be_visible()
    expect(page.locator(".sidebar")).to_be_visible()  # still inside the app shell
    screenshot(page, "11-404")
    response = page.goto(f"/book/?csm={other_csm.pk}")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You don't have access to this")).to_be_visible()
    screenshot(page, "12-403")
