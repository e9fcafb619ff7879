"""Management commands of docs/api.md: create_user, api_token, createsuperuser."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import ApiToken, Role, Team, User
from accounts.tokens import api_token_create, hash_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "corr3ct-horse-battery"


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_create_user_makes_a_csm_in_a_team_who_can_log_in():
    output = run(
        "create_user",
        "New.Person@Example.com",
        "--role",
        "csm",
        "--team",
        "East",
        "--password",
        PASSWORD,
        "--name",
        "New Person",
    )
    user = User.objects.get(email="new.person@example.com")
    assert (user.role, user.full_name, user.is_staff) == (Role.CSM, "New Person", False)
    assert list(Team.objects.get(name="East").members.all()) == [user]
    assert "Created" in output
    assert Client().login(username="new.person@example.com", password=PASSWORD)


def test_create_user_manager_manages_the_team():
    user = User.objects.get(pk=run_and_get("boss@example.com", "manager", "--team", "West"))
    assert Team.objects.get(name="West").manager == user


def test_create_user_admin_is_staff():
    user = User.objects.get(pk=run_and_get("root@example.com", "admin"))
    assert (user.role, user.is_staff) == (Role.ADMIN, True)


def run_and_get(email: str, role: str, *extra: str) -> int:
    run("create_user", email, "--role", role, *extra)
    return User.objects.get(email=email).pk


def test_create_user_again_updates_role_and_keeps_one_user():
    run("create_user", "promo@example.com", "--role", "csm")
    output = run("create_user", "PROMO@example.com", "--role", "manager")
    assert "Updated" in output
    assert list(User.objects.filter(email__iexact="promo@example.com").values_list("role", flat=True)) == [
        "manager"
    ]


def test_create_user_without_password_cannot_log_in_and_says_so():
    output = run("create_user", "nopass@example.com", "--role", "csm")
    assert not User.objects.get(email="nopass@example.com").has_usable_password()
    assert "No password set" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@example.com", "--role", "owner"], "Unknown role"),
        (["not-an-email", "--role", "csm"], "not a valid email"),
        (["weak@example.com", "--role", "csm", "--password", "123"], "Password rejected"),
    ],
)
def test_create_user_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_user", *args)
    assert not User.objects.exists()


def test_create_user_requires_role():
    with pytest.raises(CommandError):
        run("create_user", "x@example.com")


def test_api_token_prints_a_working_token_stored_only_hashed(csm, customer):
    key = run("api_token", "CSM@example.com").strip()
    token = ApiToken.objects.get(user=csm)
    assert token.key_hash == hash_key(key)
    assert key not in {token.name, token.key_hash, token.prefix}
    response = Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_api_token_again_prints_another_working_token(csm):
    # Keys are stored hashed, so an existing one cannot be printed again: each run makes a new one.
    first = run("api_token", csm.email).strip()
    second = run("api_token", csm.email).strip()
    assert first != second
    for key in (first, second):
        assert Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_api_token_rotate_revokes_the_commands_earlier_tokens_only(csm):
    _, own = api_token_create(user=csm, name="BI export")
    old = run("api_token", csm.email).strip()
    new = run("api_token", csm.email, "--rotate").strip()
    assert new != old
    assert Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
    assert Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {new}").status_code == 200
    assert Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {own}").status_code == 200


def test_api_token_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user"):
        run("api_token", "ghost@example.com")
    assert not ApiToken.objects.exists()


def test_api_token_refuses_inactive_user():
    UserFactory(email="left@example.com", is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run("api_token", "left@example.com")


def test_createsuperuser_makes_an_admin_role_user(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    run("createsuperuser", "--noinput", "--email", "Super@Example.com")
    user = User.objects.get(email="super@example.com")
    assert (user.role, user.is_superuser, user.is_staff) == (Role.ADMIN, True, True)
    client = Client()
    assert client.login(username="super@example.com", password=PASSWORD)
    response = client.post(
        "/api/v1/customers/", {"external_id": "S-1", "name": "S"}, content_type="application/json"
    )
    assert response.status_code == 200
