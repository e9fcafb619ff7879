"""Editing in the app (docs/workspace.md#editing-in-the-app): customer fields and contacts on the customer
page, bulk changes from the Book, PATCH /api/v1/customers/<external_id>/; the §3 matrix for each."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import AuditEntry, Contact, Customer, DirtyCustomer, LifecycleStage
from tests.conftest import client_for
from tests.factories import ContactFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def edit_url(customer):
    return reverse("customer_edit", args=[customer.external_id])


def form_data(customer, **overrides):
    data = {
        "csm": customer.csm_id or "",
        "renewal_date": customer.renewal_date.isoformat() if customer.renewal_date else "",
        "lifecycle_stage": customer.lifecycle_stage,
        "licenses": customer.licenses,
        "segment": customer.segment,
    }
    data.update(overrides)
    return data


def test_manager_edits_team_customer_with_audit_and_dirty_mark(manager_client, manager, customer):
    response = manager_client.post(
        edit_url(customer), form_data(customer, licenses=42, renewal_date="2027-03-31")
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.licenses == 42
    assert customer.renewal_date == dt.date(2027, 3, 31)
    entry = AuditEntry.objects.get(object_type="customer", object_id=str(customer.pk))
    assert entry.actor == manager
    assert entry.changes["licenses"]["after"] == 42
    assert entry.changes["renewal_date"]["after"] == "2027-03-31"
    assert DirtyCustomer.objects.filter(customer=customer).exists()  # licenses feed the health score


def test_renewal_date_only_does_not_mark_dirty(admin_client, customer):
    admin_client.post(edit_url(customer), form_data(customer, renewal_date="2027-01-01"))
    assert not DirtyCustomer.objects.filter(customer=customer).exists()
    assert AuditEntry.objects.filter(customer=customer).count() == 1


def test_htmx_save_redirects_the_page(manager_client, customer):
    response = manager_client.post(
        edit_url(customer), form_data(customer, segment="Enterprise"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == customer.get_absolute_url()


def test_csm_cannot_edit_customer_fields_html(csm_client, customer):
    assert csm_client.get(edit_url(customer)).status_code == 403
    assert csm_client.post(edit_url(customer), form_data(customer, licenses=1)).status_code == 403
    customer.refresh_from_db()
    assert customer.licenses != 1
    assert not AuditEntry.objects.exists()


def test_manager_cannot_edit_other_teams_customer(manager_client, other_customer):
    assert manager_client.post(edit_url(other_customer), form_data(other_customer)).status_code == 403


def test_customer_page_shows_edit_only_to_those_who_may(csm_client, manager_client, customer):
    assert b'id="edit-customer"' not in csm_client.get(customer.get_absolute_url()).content
    page = manager_client.get(customer.get_absolute_url()).content
    assert b'id="edit-customer"' in page
    assert b'id="add-contact"' in page


def test_invalid_input_shows_field_errors_and_writes_nothing(manager_client, customer):
    response = manager_client.post(
        edit_url(customer), form_data(customer, licenses=-3, renewal_date="3000-01-01", lifecycle_stage="x")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"licenses", "renewal_date", "lifecycle_stage"}
    assert not AuditEntry.objects.exists()


def test_manager_cannot_assign_someone_outside_their_teams(manager_client, customer, other_csm):
    response = manager_client.post(edit_url(customer), form_data(customer, csm=other_csm.pk))
    assert response.status_code == 200
    assert "csm" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.csm_id != other_csm.pk


def test_admin_reassigns_csm_and_audit_names_people(admin_client, customer, other_csm, csm):
    admin_client.post(edit_url(customer), form_data(customer, csm=other_csm.pk))
    entry = AuditEntry.objects.get(customer=customer)
    assert entry.changes["csm"]["before_label"] == csm.full_name
    assert entry.changes["csm"]["after_label"] == other_csm.full_name


def test_setting_churned_publishes_customer_churned(admin_client, customer):
    from core import events

    seen = []

    def listener(**payload):
        seen.append(payload)

    events.subscribe("customer.churned", listener)
    try:
        admin_client.post(edit_url(customer), form_data(customer, lifecycle_stage=LifecycleStage.CHURNED))
    finally:
        events.unsubscribe("customer.churned", listener)
    assert [p["customer_id"] for p in seen] == [customer.pk]


# --- Contacts ---


def test_manager_adds_and_edits_a_contact_with_audit(manager_client, customer):
    url = reverse("contact_create", args=[customer.external_id])
    response = manager_client.post(url, {"contact-email": "Pat@Example.com", "contact-name": "Pat"})
    assert response.status_code == 302
    contact = Contact.objects.get(customer=customer)
    assert contact.email == "pat@example.com"
    edit = reverse("contact_edit", args=[customer.external_id, contact.pk])
    manager_client.post(
        edit, {"contact-email": "pat@example.com", "contact-name": "Pat Doe", "contact-title": "CTO"}
    )
    contact.refresh_from_db()
    assert (contact.name, contact.title) == ("Pat Doe", "CTO")
    actions = list(
        AuditEntry.objects.filter(customer=customer).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["create", "update"]


def test_duplicate_contact_email_is_a_form_error(manager_client, customer):
    ContactFactory(customer=customer, email="pat@example.com")
    url = reverse("contact_create", args=[customer.external_id])
    response = manager_client.post(url, {"contact-email": "PAT@example.com"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert Contact.objects.filter(customer=customer).count() == 1


def test_csm_cannot_add_or_edit_contacts(csm_client, customer):
    contact = ContactFactory(customer=customer)
    assert (
        csm_client.post(
            reverse("contact_create", args=[customer.external_id]), {"contact-email": "a@b.co"}
        ).status_code
        == 403
    )
    edit = reverse("contact_edit", args=[customer.external_id, contact.pk])
    assert csm_client.post(edit, {"contact-email": "x@b.co"}).status_code == 403


def test_contact_of_another_customer_is_404(manager_client, customer, other_customer):
    contact = ContactFactory(customer=other_customer)
    edit = reverse("contact_edit", args=[customer.external_id, contact.pk])
    assert manager_client.get(edit).status_code == 404


# --- Bulk from the Book ---


def test_bulk_confirmation_names_the_count_then_applies(manager_client, manager, csm):
    team_customers = CustomerFactory.create_batch(3, csm=csm)
    ids = [c.pk for c in team_customers[:2]]
    data = {"target": "selected", "ids": ids, "lifecycle_stage": "mature"}
    response = manager_client.post(reverse("book_bulk_edit"), data)
    assert response.status_code == 200
    assert b"Change <strong>2 customers</strong>" in response.content
    assert not AuditEntry.objects.exists()  # nothing yet

    response = manager_client.post(reverse("book_bulk_edit"), {**data, "confirm": "1"})
    assert response.status_code == 302
    stages = dict(Customer.objects.values_list("pk", "lifecycle_stage"))
    assert [stages[i] for i in ids] == ["mature", "mature"]
    assert stages[team_customers[2].pk] != "mature"
    assert AuditEntry.objects.filter(actor=manager).count() == 2
    assert set(DirtyCustomer.objects.values_list("customer_id", flat=True)) == set(ids)


def test_bulk_matching_uses_the_book_filters(admin_client, csm, other_csm):
    CustomerFactory.create_batch(2, csm=csm, segment="SMB")
    CustomerFactory(csm=csm, segment="Enterprise")
    data = {"target": "matching", "segment": "SMB", "csm": "none"}
    response = admin_client.post(reverse("book_bulk_edit"), data)
    assert response.context["count"] == 2
    admin_client.post(reverse("book_bulk_edit"), {**data, "confirm": "1"})
    assert Customer.objects.filter(segment="SMB", csm__isnull=True).count() == 2
    assert Customer.objects.filter(segment="Enterprise", csm=csm).count() == 1
    entry = AuditEntry.objects.first()
    assert entry.changes["csm"]["before_label"] == csm.full_name


def test_bulk_on_a_customer_outside_the_team_is_403_and_writes_nothing(
    manager_client, customer, other_customer
):
    data = {"target": "selected", "ids": [customer.pk, other_customer.pk], "licenses": "5", "confirm": "1"}
    assert manager_client.post(reverse("book_bulk_edit"), data).status_code == 403
    assert not Customer.objects.filter(licenses=5).exists()
    assert not AuditEntry.objects.exists()


def test_csm_cannot_bulk_edit(csm_client, customer):
    data = {"target": "selected", "ids": [customer.pk], "licenses": "5", "confirm": "1"}
    assert csm_client.post(reverse("book_bulk_edit"), data).status_code == 403


def test_bulk_without_a_change_or_selection_is_400(manager_client, customer):
    assert (
        manager_client.post(
            reverse("book_bulk_edit"), {"target": "selected", "ids": [customer.pk]}
        ).status_code
        == 400
    )
    assert (
        manager_client.post(reverse("book_bulk_edit"), {"target": "selected", "licenses": "3"}).status_code
        == 400
    )
    assert manager_client.post(reverse("book_bulk_edit"), {"target": "x", "ids": ["a"]}).status_code == 400


def test_book_shows_bulk_controls_to_managers_only(csm_client, manager_client, customer):
    assert b'id="bulk-form"' not in csm_client.get(reverse("book")).content
    assert b'id="bulk-form"' in manager_client.get(reverse("book")).content


# --- API ---


def api_url(customer):
    return reverse("api_customer_detail", args=[customer.external_id])


def test_api_patch_by_manager_is_audited(manager_client, manager, customer, csm):
    response = manager_client.patch(
        api_url(customer), {"licenses": 12, "csm_email": csm.email}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["licenses"] == 12
    entry = AuditEntry.objects.get(customer=customer)
    assert entry.actor == manager
    assert set(entry.changes) == {"licenses"}


def test_api_patch_denied_to_csm_and_other_manager(csm_client, customer, other_manager):
    assert (
        csm_client.patch(api_url(customer), {"licenses": 1}, content_type="application/json").status_code
        == 403
    )
    other = client_for(other_manager)
    assert other.patch(api_url(customer), {"licenses": 1}, content_type="application/json").status_code == 403
    assert not AuditEntry.objects.exists()


def test_api_patch_bad_input_is_400_with_fields(admin_client, customer, other_csm):
    response = admin_client.patch(
        api_url(customer),
        {"licenses": -1, "lifecycle_stage": "nope", "csm_email": "ghost@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert {"licenses", "lifecycle_stage", "csm_email"} <= set(response.json())
    assert not AuditEntry.objects.exists()


def test_api_patch_manager_cannot_assign_outside_team(manager_client, customer, other_csm):
    response = manager_client.patch(
        api_url(customer), {"csm_email": other_csm.email}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "csm" in response.json()


def test_api_patch_of_deactivated_csm_email_is_400(admin_client, customer):
    gone = UserFactory(is_active=False)
    response = admin_client.patch(
        api_url(customer), {"csm_email": gone.email}, content_type="application/json"
    )
    assert response.status_code == 400


def test_bulk_matching_more_than_a_chunk(admin_client, csm, monkeypatch):
    from accounts import editing

    monkeypatch.setattr(editing, "BULK_CHUNK", 2)  # several chunks with a handful of rows
    CustomerFactory.create_batch(5, csm=csm, segment="SMB")
    data = {"target": "matching", "segment": "SMB", "licenses": "7", "confirm": "1"}
    assert admin_client.post(reverse("book_bulk_edit"), data).status_code == 302
    assert Customer.objects.filter(licenses=7).count() == 5
    assert AuditEntry.objects.count() == 5


def test_bulk_too_many_ticked_is_400(admin_client):
    data = {"target": "selected", "ids": list(range(1, 1002)), "licenses": "7"}
    assert admin_client.post(reverse("book_bulk_edit"), data).status_code == 400
