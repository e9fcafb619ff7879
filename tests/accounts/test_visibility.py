from __future__ import annotations

import pytest

from accounts.visibility import can_edit_customer, can_ingest, can_manage_customer, editable_customers
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_book_of_csm_is_own_customers(csm, customer, other_customer):
    assert list(editable_customers(csm)) == [customer]


def test_book_of_manager_is_team_customers(manager, customer, other_customer):
    assert list(editable_customers(manager)) == [customer]


def test_book_of_admin_is_everything(admin_user, customer, other_customer):
    assert set(editable_customers(admin_user)) == {customer, other_customer}


def test_customer_without_csm_only_editable_by_admin(csm, manager, admin_user):
    orphan = CustomerFactory(csm=None)
    assert not can_edit_customer(csm, orphan)
    assert not can_edit_customer(manager, orphan)
    assert can_edit_customer(admin_user, orphan)


def test_csm_cannot_edit_other_book(csm, other_customer):
    assert not can_edit_customer(csm, other_customer)


def test_manager_cannot_edit_other_team(manager, other_customer, customer):
    assert can_edit_customer(manager, customer)
    assert not can_edit_customer(manager, other_customer)


def test_only_managers_and_admins_manage(csm, manager, admin_user, customer):
    assert not can_manage_customer(csm, customer)
    assert can_manage_customer(manager, customer)
    assert can_manage_customer(admin_user, customer)


def test_only_admins_ingest(csm, manager, admin_user):
    assert [can_ingest(u) for u in (csm, manager, admin_user)] == [False, False, True]
