"""Users and teams pages (docs/workspace.md#users-and-teams): admins only; invite with a set-password link,
role and teams, deactivate; teams create/rename/manager/members; every change audited."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEntry, Role, Team, User
from playbooks.assignment import assignees_for
from tests.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["people_users", "people_teams"]


@pytest.mark.parametrize("page", PAGES)
def test_people_pages_are_admin_only(csm_client, manager_client, admin_client, page):
    assert csm_client.get(reverse(page)).status_code == 403
    assert manager_client.get(reverse(page)).status_code == 403
    assert admin_client.get(reverse(page)).status_code == 200


def test_non_admin_cannot_invite_edit_or_deactivate(manager_client, csm):
    assert (
        manager_client.post(reverse("people_users"), {"email": "x@example.com", "role": "csm"}).status_code
        == 403
    )
    assert manager_client.post(reverse("people_user", args=[csm.pk]), {"role": "admin"}).status_code == 403
    assert (
        manager_client.post(reverse("people_user_active", args=[csm.pk]), {"active": "0"}).status_code == 403
    )
    assert manager_client.post(reverse("people_teams"), {"name": "X"}).status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()
    csm.refresh_from_db()
    assert csm.is_active
    assert csm.role == Role.CSM


def test_invite_sends_a_working_set_password_link(
    admin_client, admin_user, csm, client, django_capture_on_commit_callbacks
):
    team = Team.objects.get(name="Team North")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("people_users"),
            {"email": "New.Person@Example.com", "full_name": "New Person", "role": "csm", "teams": [team.pk]},
        )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert not user.has_usable_password()
    assert list(user.teams.all()) == [team]
    entry = AuditEntry.objects.get(object_type="user", object_id=str(user.pk))
    assert entry.actor == admin_user
    assert entry.changes["teams"]["after"] == ["Team North"]
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/password/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path, follow=True)
    assert page.status_code == 200
    set_url = page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "A-long-pass-4321", "new_password2": "A-long-pass-4321"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("A-long-pass-4321")


def test_invite_of_an_existing_email_is_a_form_error(admin_client, csm):
    response = admin_client.post(reverse("people_users"), {"email": "CSM@example.com", "role": "csm"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert not mail.outbox


def test_invite_bad_input_is_400(admin_client):
    response = admin_client.post(reverse("people_users"), {"email": "nope", "role": "boss"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"email", "role"}


def test_change_role_and_team_is_audited(admin_client, csm):
    south = TeamFactory(name="Team South2")
    response = admin_client.post(
        reverse("people_user", args=[csm.pk]),
        {"full_name": csm.full_name, "role": "manager", "teams": [south.pk]},
    )
    assert response.status_code == 302
    csm.refresh_from_db()
    assert csm.role == Role.MANAGER
    assert list(csm.teams.values_list("name", flat=True)) == ["Team South2"]
    entry = AuditEntry.objects.get(object_type="user", object_id=str(csm.pk))
    assert entry.changes["role"] == {"before": "csm", "after": "manager"}
    assert entry.changes["teams"] == {"before": ["Team North"], "after": ["Team South2"]}


def test_admin_cannot_demote_or_deactivate_themselves(admin_client, admin_user):
    response = admin_client.post(reverse("people_user", args=[admin_user.pk]), {"role": "csm"})
    assert response.status_code == 400
    admin_client.post(reverse("people_user_active", args=[admin_user.pk]), {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert admin_user.role == Role.ADMIN


def test_deactivated_csm_book_shows_unassigned_and_fallback_applies(admin_client, csm, manager, customer):
    response = admin_client.post(reverse("people_user_active", args=[csm.pk]), {"active": "0"})
    assert response.status_code == 302
    csm.refresh_from_db()
    assert not csm.is_active
    assert AuditEntry.objects.get(object_type="user").changes == {
        "is_active": {"before": True, "after": False}
    }
    book = admin_client.get(reverse("book")).content.decode()
    assert "was Casey Csm" in book
    # New playbook work no longer goes to the deactivated CSM (playbooks.assignment's fallback).
    assert assignees_for([customer.pk])[customer.pk] != csm.pk
    admin_client.post(reverse("people_user_active", args=[csm.pk]), {"active": "1"})
    assert assignees_for([customer.pk])[customer.pk] == csm.pk


def test_users_list_query_count_is_flat(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        TeamFactory().members.add(UserFactory())
    with django_assert_max_num_queries(12) as small:
        admin_client.get(reverse("people_users"))
    baseline = len(small.captured_queries)
    for _ in range(20):
        user = UserFactory()
        TeamFactory().members.add(user)
        CustomerFactory(csm=user)
    with django_assert_max_num_queries(baseline):
        admin_client.get(reverse("people_users"))


def test_team_create_rename_manager_members_audited(admin_client, manager, csm, other_csm):
    response = admin_client.post(
        reverse("people_teams"), {"name": "Team East", "manager": manager.pk, "members": [csm.pk]}
    )
    assert response.status_code == 302
    team = Team.objects.get(name="Team East")
    assert team.manager == manager
    response = admin_client.post(
        reverse("people_team", args=[team.pk]),
        {"name": "Team Far East", "manager": "", "members": [other_csm.pk]},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Team Far East"
    assert team.manager is None
    assert list(team.members.all()) == [other_csm]
    update = AuditEntry.objects.filter(object_type="team", action="update").get()
    assert update.changes["name"] == {"before": "Team East", "after": "Team Far East"}
    assert update.changes["members"] == {"before": [csm.pk], "after": [other_csm.pk]}


def test_team_name_taken_or_csm_manager_is_400(admin_client, csm):
    response = admin_client.post(reverse("people_teams"), {"name": "team north"})
    assert response.status_code == 400
    response = admin_client.post(reverse("people_teams"), {"name": "New", "manager": csm.pk})
    assert response.status_code == 400  # a CSM is not a manager choice
    assert not Team.objects.filter(name="New").exists()
