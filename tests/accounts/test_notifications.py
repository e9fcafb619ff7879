"""Notification pages (docs/workspace.md#notifications): the bell's unread count in one indexed query, the
list, mark read (own only), the email setting."""

import pytest
from django.urls import reverse

from accounts.models import EmailMode, Notification, NotificationKind, NotificationSettings
from accounts.notifications import notify, unread_count

pytestmark = pytest.mark.django_db


def make(user, n=1, **kw):
    for i in range(n):
        Notification.objects.create(user=user, kind=NotificationKind.ASSIGNED, title=f"Task {i}", **kw)


def test_unread_count_is_one_query(csm, django_assert_num_queries):
    make(csm, 3)
    Notification.objects.filter(title="Task 0").update(read_at="2026-12-01T00:00:00Z")
    with django_assert_num_queries(1):
        assert unread_count(csm) == 2


def test_bell_shows_the_unread_count(csm_client, csm, other_csm):
    make(csm, 3)
    make(other_csm, 5)
    html = csm_client.get(reverse("notification_bell")).content.decode()
    assert 'data-testid="unread-count">3<' in html
    assert "no-store" in csm_client.get(reverse("notification_bell"))["Cache-Control"]


def test_bell_needs_login(anonymous):
    assert anonymous.get(reverse("notification_bell")).status_code == 302


def test_list_shows_only_own_and_query_count_is_flat(
    csm_client, csm, other_csm, django_assert_max_num_queries
):
    make(csm, 2)
    make(other_csm, 1, **{})
    with django_assert_max_num_queries(10) as small:
        page = csm_client.get(reverse("notifications"))
    baseline = len(small.captured_queries)
    assert len(page.context["page"].object_list) == 2
    make(csm, 30)
    with django_assert_max_num_queries(baseline):
        csm_client.get(reverse("notifications"))


def test_mark_read_one_and_all_own_only(csm_client, csm, other_csm):
    make(csm, 2)
    make(other_csm, 1)
    mine = Notification.objects.filter(user=csm).first()
    theirs = Notification.objects.get(user=other_csm)
    csm_client.post(reverse("notification_read", args=[mine.pk]), {"next": "/book/"})
    csm_client.post(reverse("notification_read", args=[theirs.pk]))
    assert unread_count(csm) == 1
    assert unread_count(other_csm) == 1  # another user's notification is left alone
    csm_client.post(reverse("notifications_read_all"))
    assert unread_count(csm) == 0


def test_mark_read_redirects_only_on_site(csm_client, csm):
    make(csm)
    n = Notification.objects.get()
    response = csm_client.post(reverse("notification_read", args=[n.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notifications")


def test_settings_page_saves_the_mode_and_rejects_bad_input(csm_client, csm):
    page = csm_client.get(reverse("notification_settings")).content.decode()
    assert 'name="slack"' in page
    assert (
        "checked" in page[page.index('name="slack"') - 200 : page.index('name="slack"') + 200]
    )  # on by default
    assert csm_client.post(reverse("notification_settings"), {"email_mode": "digest"}).status_code == 302
    row = NotificationSettings.objects.get(user=csm)
    assert row.email_mode == EmailMode.DIGEST
    assert row.slack is False  # the box was left unticked
    csm_client.post(reverse("notification_settings"), {"email_mode": "digest", "slack": "on"})
    assert NotificationSettings.objects.get(user=csm).slack is True
    assert csm_client.post(reverse("notification_settings"), {"email_mode": "pigeon"}).status_code == 400


def test_notify_skips_inactive_users(csm, other_csm):
    other_csm.is_active = False
    other_csm.save()
    rows = notify(user_ids=[csm.pk, other_csm.pk, None], kind=NotificationKind.TURNED_RED, title="x")
    assert [r.user_id for r in rows] == [csm.pk]
