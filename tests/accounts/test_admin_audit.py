"""Edits made in Django's admin land in the audit log, inline rows included, and a change to a health input
marks its customer for the live recompute (accounts/admin_audit.py, docs/workspace.md#audit-log)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from accounts.models import AuditEntry, Contact, DirtyCustomer, Pulse, User
from metrics.models import KeyFeature
from tests.conftest import client_for
from tests.factories import ContactFactory, PulseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    """Django's admin is for superusers (docs/operations.md)."""
    return UserFactory(
        email="root@example.com", full_name="Root", role="admin", is_staff=True, is_superuser=True
    )


@pytest.fixture
def admin_client(root):
    return client_for(root)


class _Form(HTMLParser):
    """The fields of the admin's change form as the browser would post them untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str | list[str]] = {}
        self._select: str | None = None
        self._multiple = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            else:
                self.data[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self._multiple = "multiple" in a
            if not self._multiple:
                self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            value = a.get("value") or ""
            if self._multiple:
                self.data.setdefault(self._select, []).append(value)
            else:
                self.data[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_of(client, url: str) -> dict[str, str | list[str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = _Form()
    parser.feed(response.content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def test_a_customer_changed_in_the_admin_is_audited_and_marked_dirty(admin_client, root, customer):
    url = f"/admin/accounts/customer/{customer.pk}/change/"
    data = form_of(admin_client, url)
    data["licenses"] = str(customer.licenses + 7)
    DirtyCustomer.objects.all().delete()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    (entry,) = entries(object_type="customer", action="update")
    assert entry.actor == root
    assert entry.actor_label == "Root"
    assert entry.customer_id == customer.pk
    assert entry.changes == {"licenses": {"before": customer.licenses, "after": customer.licenses + 7}}
    assert DirtyCustomer.objects.filter(customer=customer).exists()

    # Saved unchanged: nothing to log.
    admin_client.post(url, form_of(admin_client, url))
    assert len(entries(object_type="customer")) == 1


def test_inline_contacts_added_changed_and_deleted_are_audited(admin_client, customer):
    kept = ContactFactory(customer=customer, email="kept@example.com", name="Kept")
    gone = ContactFactory(customer=customer, email="gone@example.com", name="Gone")
    url = f"/admin/accounts/customer/{customer.pk}/change/"
    data = form_of(admin_client, url)
    prefix = next(k[: -len("-TOTAL_FORMS")] for k in data if k.endswith("-TOTAL_FORMS"))
    rows = {data[f"{prefix}-{i}-email"]: i for i in range(int(data[f"{prefix}-INITIAL_FORMS"]))}
    data[f"{prefix}-{rows['kept@example.com']}-name"] = "Kept Renamed"
    data[f"{prefix}-{rows['gone@example.com']}-DELETE"] = "on"
    new = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update({f"{prefix}-{new}-email": "new@example.com", f"{prefix}-{new}-name": "New One"})
    data[f"{prefix}-{new}-customer"] = str(customer.pk)
    data[f"{prefix}-TOTAL_FORMS"] = str(new + 1)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:3000]

    logged = {(e.action, e.object_repr): e for e in entries(object_type="contact")}
    assert set(Contact.objects.values_list("email", flat=True)) == {"kept@example.com", "new@example.com"}
    update = next(e for (action, _), e in logged.items() if action == "update")
    assert update.object_id == str(kept.pk)
    assert update.changes == {"name": {"before": "Kept", "after": "Kept Renamed"}}
    delete = next(e for (action, _), e in logged.items() if action == "delete")
    assert delete.object_id == str(gone.pk)
    assert delete.changes["email"] == {"before": "gone@example.com", "after": None}
    create = next(e for (action, _), e in logged.items() if action == "create")
    assert create.changes["email"] == {"before": None, "after": "new@example.com"}
    assert {e.customer_id for e in logged.values()} == {customer.pk}


def test_a_pulse_deleted_in_the_admin_is_audited_and_its_customer_marked(admin_client, customer):
    pulse = PulseFactory(customer=customer, score=2, note="Unhappy")
    DirtyCustomer.objects.all().delete()
    response = admin_client.post(f"/admin/accounts/pulse/{pulse.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Pulse.objects.exists()
    (entry,) = entries(object_type="pulse", action="delete")
    assert entry.customer_id == customer.pk
    assert entry.changes["score"] == {"before": 2, "after": None}
    assert DirtyCustomer.objects.filter(customer=customer).exists()


def test_a_key_feature_added_in_the_admin_marks_every_customer(admin_client, customer, other_customer):
    DirtyCustomer.objects.all().delete()
    response = admin_client.post("/admin/metrics/keyfeature/add/", {"name": "reports", "description": "x"})
    assert response.status_code == 302
    assert KeyFeature.objects.filter(name="reports").exists()
    (entry,) = entries(object_type="keyfeature", action="create")
    assert entry.customer_id is None
    assert set(DirtyCustomer.objects.values_list("customer_id", flat=True)) == {
        customer.pk,
        other_customer.pk,
    }


def test_a_users_password_never_lands_in_the_log(admin_client, csm):
    url = f"/admin/accounts/user/{csm.pk}/change/"
    data = form_of(admin_client, url)
    data["full_name"] = "Renamed CSM"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    (entry,) = entries(object_type="user", action="update")
    assert entry.changes == {"full_name": {"before": csm.full_name, "after": "Renamed CSM"}}
    assert User.objects.get(pk=csm.pk).full_name == "Renamed CSM"
    assert not any("password" in e.changes for e in AuditEntry.objects.all())
