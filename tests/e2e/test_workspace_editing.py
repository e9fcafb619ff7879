"""The workspace in a real browser (docs/workspace.md): a mention reaches the bell, the manager edits the
customer's renewal date in the page, saves a Book view, reassigns in bulk with the confirmation; an admin's
users page. Screenshots at 1440 and 375 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuditEntry, Customer, SavedView
from core import events
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_works_the_workspace(
    page, phone_page, screenshot, console_errors, csm, manager, customer, admin_user
):
    for i in range(4):
        CustomerFactory(name=f"Globex {i}", csm=csm, segment="SMB", health_band="red", health_score=30)
    events.publish(
        "note.created",
        note_id=1,
        customer_id=customer.pk,
        author_id=csm.pk,
        text="@manager can you join the QBR?",
    )

    log_in(page, manager.email, PASSWORD)
    bell = page.locator("#notification-bell [data-testid=unread-count]")
    expect(bell).to_have_text("1")
    page.locator("#notification-bell").click()
    expect(page.locator("#notification-list")).to_contain_text(
        "Casey Csm mentioned you in a note on Northwind Traders"
    )
    screenshot(page, "ws-notifications-1440")
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(f"**{customer.get_absolute_url()}**")
    expect(page.locator("#notification-bell .bell__count")).to_have_count(0)

    # Edit the renewal date in place (htmx), then the page reloads with the new value and its audit entry.
    page.locator("#edit-customer").click()
    new_date = timezone.localdate() + dt.timedelta(days=200)
    page.locator("#edit_renewal_date").fill(new_date.isoformat())
    screenshot(page, "ws-customer-edit-1440")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".alert, .messages, [role=status]").first).to_contain_text("Customer updated")
    customer.refresh_from_db()
    assert customer.renewal_date == new_date
    entry = AuditEntry.objects.get(customer=customer)
    assert entry.changes["renewal_date"]["after"] == new_date.isoformat()

    # The Book: filter, save the view shared, then bulk-change the matching customers' stage.
    page.goto("/book/?segment=SMB")
    page.locator("#saved-views summary").click()
    page.locator("#view-name").fill("SMB accounts")
    page.locator("#save-view-form input[name=shared]").check()
    screenshot(page, "ws-book-saved-views-1440")
    page.get_by_role("button", name="Save view").click()
    assert SavedView.objects.get().query == "segment=SMB"
    page.locator("#bulk-edit summary").click()
    page.locator("#bulk_target").select_option("matching")
    page.locator("#bulk_lifecycle_stage").select_option("mature")
    page.get_by_role("button", name="Review the change").click()
    expect(page.locator("#bulk-count")).to_contain_text("4 customers")
    screenshot(page, "ws-bulk-confirm-1440")
    page.get_by_role("button", name="Change 4 customers").click()
    expect(page.locator("body")).to_contain_text("4 customers changed")
    assert Customer.objects.filter(segment="SMB", lifecycle_stage="mature").count() == 4

    # Phone widths.
    log_in(phone_page, manager.email, PASSWORD)
    phone_page.goto(customer.get_absolute_url())
    screenshot(phone_page, "ws-customer-375")
    phone_page.goto("/notifications/")
    screenshot(phone_page, "ws-notifications-375")
    phone_page.goto("/tasks/team/")
    screenshot(phone_page, "ws-team-tasks-375")
    assert console_errors == []


def test_admin_users_page(page, phone_page, screenshot, console_errors, admin_user, csm, manager):
    log_in(page, admin_user.email, PASSWORD)
    page.goto("/people/users/")
    expect(page.locator("#users-table")).to_contain_text("Casey Csm")
    screenshot(page, "ws-users-1440")
    page.goto("/people/teams/")
    screenshot(page, "ws-teams-1440")
    log_in(phone_page, admin_user.email, PASSWORD)
    phone_page.goto("/people/users/")
    screenshot(phone_page, "ws-users-375")
    assert console_errors == []
