"""The CSM's workspace loop in a real browser (docs/workspace.md): search a customer in the top bar, open it
with the keyboard, write a note, edit it, and read the before/after in the audit panel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditEntry, Note
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, CustomerFactory, TouchpointFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_search_open_note_edit_and_audit(page, phone_page, screenshot, console_errors, csm, customer):
    CustomerFactory(name="Northstar Mining", csm=csm)
    ContactFactory(customer=customer, name="Dana Buyer", email="dana@northwind.example")
    TouchpointFactory(customer=customer, author=csm, summary="Quarterly review of the northwind rollout.")
    log_in(page, csm.email, PASSWORD)

    # The top bar: typing drops the grouped results; arrows move, Enter opens.
    box = page.get_by_role("searchbox", name="Search customers, contacts and notes")
    box.fill("northw")
    results = page.locator("#search-results")
    expect(results.get_by_role("group", name="Customers")).to_contain_text("Northwind Traders")
    expect(results.get_by_role("group", name="Contacts")).to_contain_text("Dana Buyer")
    expect(results.get_by_role("group", name="Touchpoints and notes")).to_contain_text("northwind rollout")
    expect(results).not_to_contain_text("Northstar Mining")
    screenshot(page, "workspace-01-search")
    box.press("ArrowDown")
    expect(results.locator('[aria-selected="true"]')).to_contain_text("Northwind Traders")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/customers/NW-1/$"))

    # Write a note: it lands at the top of the timeline without a reload.
    page.get_by_label("Note", exact=True).fill("Sponsor wants a roadmap call before the renewal.")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("#note-form")).to_contain_text("Note logged")
    first = page.locator("#timeline > li").first
    expect(first).to_contain_text("Sponsor wants a roadmap call")
    note = Note.objects.get()

    # Edit it: the audit panel shows before → after.
    first.get_by_role("link", name="Edit").click()
    page.wait_for_url(re.compile(rf"/notes/{note.pk}/edit/$"))
    page.get_by_label("Note", exact=True).fill("Sponsor wants a roadmap call in March.")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(rf"/customers/NW-1/#note-{note.pk}$"))
    expect(page.locator(f"#note-{note.pk}")).to_contain_text("in March")
    audit = page.locator("#audit-log")
    expect(audit).to_contain_text("Note changed")
    expect(audit.locator(".audit__before")).to_contain_text("before the renewal")
    expect(audit.locator(".audit__after")).to_contain_text("in March")
    expect(audit).to_contain_text("Casey Csm")
    assert (
        AuditEntry.objects.get().changes["text"]["before"]
        == "Sponsor wants a roadmap call before the renewal."
    )
    screenshot(page, "workspace-02-customer-desktop")

    log_in(phone_page, csm.email, PASSWORD)
    phone_page.goto(customer.get_absolute_url())
    expect(phone_page.locator("#audit-log")).to_contain_text("Note changed")
    screenshot(phone_page, "workspace-03-customer-phone")
    phone_page.goto("/search/?q=northwind")
    screenshot(phone_page, "workspace-04-search-page-phone")
    assert console_errors == []
