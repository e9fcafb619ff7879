"""accounts.visibility: the one module that says who may see or change what."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts import visibility
from accounts.models import Role
from accounts.visibility import can_edit_customer, can_ingest, can_manage_customer, editable_customers
from tests.factories import CustomerFactory, UserFactory

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


# --- The roles matrix (docs/architecture.md#roles-and-permissions), pinned once on accounts.visibility ---
# Surfaces (views, APIs, services) have their own denial tests; these pin the rules they all call.

# Who is asking → (may edit/log on the team's customer, may manage it, may edit configuration, may ingest)
MATRIX = {
    "csm": (True, False, False, False),
    "other_csm": (False, False, False, False),
    "manager": (True, True, True, False),
    "other_manager": (False, False, True, False),
    "admin_user": (True, True, True, True),
}


@pytest.fixture
def people(request, csm, other_csm, manager, other_manager, admin_user):
    return {
        "csm": csm,
        "other_csm": other_csm,
        "manager": manager,
        "other_manager": other_manager,
        "admin_user": admin_user,
    }


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_matrix_on_a_customer_of_the_team(people, customer, who):
    user = people[who]
    edit, manage, configure, ingest = MATRIX[who]
    assert visibility.can_edit_customer(user, customer) is edit
    assert visibility.can_manage_customer(user, customer) is manage
    assert visibility.can_edit_configuration(user) is configure
    assert visibility.can_ingest(user) is ingest
    assert (customer in visibility.editable_customers(user)) is edit


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_check_can_manage_agrees_with_can_manage_customer(people, customer, who):
    user = people[who]
    if MATRIX[who][1]:
        visibility.check_can_manage(user=user, customers=[customer], action="do it", verb="do it to")
    else:
        with pytest.raises(PermissionDenied):
            visibility.check_can_manage(user=user, customers=[customer], action="do it", verb="do it to")


def test_check_can_manage_names_the_customers_outside_the_teams(manager, customer, other_customer):
    with pytest.raises(
        PermissionDenied, match=r"You can only survey your teams' customers \(not Southpaw Labs\)"
    ):
        visibility.check_can_manage(
            user=manager, customers=[customer, other_customer], action="send survey campaigns", verb="survey"
        )


@pytest.mark.parametrize("state", ["anonymous", "deactivated"])
def test_nobody_signed_out_or_deactivated_sees_or_changes_anything(state, customer, admin_user):
    user = AnonymousUser() if state == "anonymous" else admin_user
    if state == "deactivated":
        admin_user.is_active = False
        admin_user.save()
    assert list(visibility.editable_customers(user)) == []
    assert not visibility.can_edit_customer(user, customer)
    assert not visibility.can_manage_customer(user, customer)
    assert not visibility.can_edit_configuration(user)
    assert not visibility.can_ingest(user)
    assert not visibility.can_work_for(user, assignee_id=None, customer=customer)
    with pytest.raises(PermissionDenied):
        visibility.scope_csm_ids(user)


def test_manager_scope_includes_own_customers(manager, customer, other_customer):
    own = CustomerFactory(csm=manager)
    assert set(visibility.editable_customers(manager)) == {customer, own}
    assert set(visibility.scope_csm_ids(manager)) == {customer.csm_id, manager.pk}


def test_scope_ids_and_labels(csm, manager, admin_user):
    assert visibility.scope_csm_ids(csm) == (csm.pk,)
    assert visibility.scope_csm_ids(admin_user) is None
    assert [visibility.scope_label(u) for u in (csm, manager, admin_user)] == [
        "Your book",
        "Your teams",
        "All customers",
    ]


def test_visible_csms_is_the_team_view(csm, other_csm, manager, admin_user):
    inactive = UserFactory(role=Role.CSM, is_active=False)
    assert list(visibility.visible_csms(manager)) == [csm]
    assert set(visibility.visible_csms(admin_user)) == {csm, other_csm}
    assert inactive not in visibility.visible_csms(admin_user)
    with pytest.raises(PermissionDenied):
        visibility.visible_csms(csm)


def test_books_a_user_may_open(csm, other_csm, manager, admin_user):
    assert visibility.can_see_book_of(csm, csm)
    assert not visibility.can_see_book_of(csm, other_csm)
    assert visibility.can_see_book_of(manager, csm)
    assert not visibility.can_see_book_of(manager, other_csm)
    assert visibility.can_see_book_of(admin_user, other_csm)
    assert list(visibility.book_owners(csm)) == []
    assert list(visibility.book_owners(manager)) == [csm]


def test_work_on_tasks_follows_the_assignee_and_the_teams(csm, other_csm, manager, admin_user, customer):
    other_customer = CustomerFactory(csm=other_csm)
    assert visibility.can_work_for(csm, assignee_id=csm.pk, customer=customer)
    assert not visibility.can_work_for(other_csm, assignee_id=csm.pk, customer=customer)
    assert visibility.can_work_for(manager, assignee_id=csm.pk, customer=other_customer)
    assert visibility.can_work_for(manager, assignee_id=None, customer=customer)
    assert not visibility.can_work_for(manager, assignee_id=other_csm.pk, customer=other_customer)
    assert visibility.can_work_for(admin_user, assignee_id=other_csm.pk, customer=other_customer)
