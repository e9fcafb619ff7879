"""The audit log service (accounts.audit): what an entry holds for a create, an update and a delete."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import audit
from accounts.models import AuditAction, AuditEntry, Role
from tests.factories import ContactFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

FIELDS = ["csm", "renewal_date", "licenses", "segment", "lifecycle_stage"]


def test_update_records_only_changed_fields_with_people_named():
    old, new = UserFactory(full_name="Old Owner"), UserFactory(full_name="New Owner")
    admin = UserFactory(role=Role.ADMIN, full_name="Ada Admin")
    customer = CustomerFactory(csm=old, licenses=10, renewal_date=dt.date(2027, 1, 31))
    before = audit.snapshot(customer, FIELDS)
    customer.csm, customer.renewal_date = new, dt.date(2027, 3, 31)
    customer.save()

    entry = audit.record_update(actor=admin, obj=customer, before=before, customer=customer)

    assert entry is not None
    assert entry.action == AuditAction.UPDATE
    assert entry.actor_label == "Ada Admin"
    assert entry.object_type == "customer"
    assert entry.object_id == str(customer.pk)
    assert entry.changes == {
        "csm": {"before": old.pk, "after": new.pk, "before_label": "Old Owner", "after_label": "New Owner"},
        "renewal_date": {"before": "2027-01-31", "after": "2027-03-31"},
    }
    assert audit.entries_for_customer(customer) == [entry]


def test_update_without_change_writes_nothing():
    customer = CustomerFactory()
    before = audit.snapshot(customer, FIELDS)
    assert audit.record_update(actor=None, obj=customer, before=before) is None
    assert not AuditEntry.objects.exists()


def test_delete_keeps_the_old_row_and_outlives_it():
    contact = ContactFactory(name="Pat Doe", title="CTO")
    customer = contact.customer
    entry = audit.record_delete(actor=None, obj=contact, fields=["email", "name", "title"], customer=customer)
    contact.delete()
    entry.refresh_from_db()
    assert entry.actor_label == "system"
    assert entry.action == AuditAction.DELETE
    assert entry.changes["name"] == {"before": "Pat Doe", "after": None}
    assert entry.changes["title"] == {"before": "CTO", "after": None}


def test_json_values_are_readable():
    assert audit.json_value(Decimal("12.50")) == "12.50"
    assert audit.json_value(dt.datetime(2027, 1, 2, 3, 4, tzinfo=dt.UTC)) == "2027-01-02T03:04:00+00:00"
    assert audit.diff({"a": 1, "b": [1, 2]}, {"a": 1, "b": (1, 2), "c": None}) == {}
