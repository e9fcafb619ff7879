"""Issue #19's loop in one real browser run, across both halves of the workspace (docs/workspace.md): a
CSM searches a customer in the top bar and opens it, writes a note mentioning her manager; the manager sees
it at the bell, opens it, edits the customer's renewal date in the page, and the audit panel shows it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuditEntry, Note
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_search_note_mention_notification_edit_and_audit(
    browser, live_server, page, screenshot, console_errors, csm, manager, customer
):
    old_date = customer.renewal_date
    # The CSM: search in the top bar, open with the keyboard, write a note that mentions her manager.
    log_in(page, csm.email, PASSWORD)
    box = page.get_by_role("searchbox", name="Search customers, contacts and notes")
    box.fill("northw")
    expect(page.locator("#search-results")).to_contain_text("Northwind Traders")
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/customers/NW-1/$"))
    page.get_by_label("Note", exact=True).fill("@manager can you join the QBR before the renewal?")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("#timeline > li").first).to_contain_text("can you join the QBR")
    note = Note.objects.get()

    # The manager, in a browser of her own: the bell says 1; the notification leads to the note.
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=live_server.url)
    boss = context.new_page()
    log_in(boss, manager.email, PASSWORD)
    expect(boss.locator("#notification-bell [data-testid=unread-count]")).to_have_text("1")
    boss.locator("#notification-bell").click()
    expect(boss.locator("#notification-list")).to_contain_text(
        "Casey Csm mentioned you in a note on Northwind Traders"
    )
    boss.get_by_role("button", name="Open").click()
    boss.wait_for_url(re.compile(rf"/customers/NW-1/#note-{note.pk}$"))
    expect(boss.locator(f"#note-{note.pk}")).to_contain_text("can you join the QBR")

    # She moves the renewal date in the page; the audit panel shows it, before and after.
    new_date = timezone.localdate() + dt.timedelta(days=200)
    boss.locator("#edit-customer").click()
    boss.locator("#edit_renewal_date").fill(new_date.isoformat())
    boss.get_by_role("button", name="Save changes").click()
    audit = boss.locator("#audit-log")
    expect(audit).to_contain_text("Customer changed")
    expect(audit).to_contain_text("Maria Manager")
    expect(audit.locator(".audit__before").first).to_contain_text(old_date.isoformat())
    expect(audit.locator(".audit__after").first).to_contain_text(new_date.isoformat())
    entry = AuditEntry.objects.get(object_type="customer", customer=customer)
    assert entry.changes["renewal_date"] == {"before": old_date.isoformat(), "after": new_date.isoformat()}
    screenshot(boss, "workspace-loop-manager-audit")
    context.close()
    assert console_errors == []
