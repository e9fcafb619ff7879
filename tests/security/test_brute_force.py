"""Login and API-token brute force (docs/operations.md#brute-force): django-axes per account and per address,
a limit on wrong API tokens per address, and the client address behind a trusted proxy."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from accounts.tokens import api_token_create
from core import ratelimit
from core.net import client_ip
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    from django.core.cache import cache

    cache.clear()
    ratelimit.local.reset()
    yield
    cache.clear()
    ratelimit.local.reset()


@pytest.fixture
def person(db):
    user = UserFactory(email="person@example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def login(client: Client, password: str, *, email: str = "person@example.com", **extra):
    return client.post("/login/", {"username": email, "password": password}, **extra)


def test_right_password_is_refused_after_five_wrong_ones(person, settings):
    client = Client()
    codes = [login(client, "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = login(client, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_account_is_locked_from_another_address_too(person, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "wrong", REMOTE_ADDR=f"10.0.0.{i + 1}")
    assert login(Client(), PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 429


def test_one_address_is_locked_across_accounts(person, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "wrong", email=f"someone{i}@example.com", REMOTE_ADDR="10.0.0.7")
    assert login(Client(), PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 429
    assert login(Client(), PASSWORD, REMOTE_ADDR="10.0.0.8").status_code == 302


def test_a_right_password_resets_the_count(person, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "wrong").status_code == 200


def test_wrong_api_tokens_are_limited_per_address_and_then_even_a_right_one_waits(person, settings):
    settings.CSHUB_API_BAD_TOKEN_LIMIT = 5
    right = api_token_create(user=person, name="test")[1]
    client = Client()
    codes = [
        client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token wrong{i:036d}").status_code
        for i in range(5)
    ]
    assert codes == [401] * 5
    assert client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Token x" * 1).status_code == 429
    assert client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {right}").status_code == 429
    other = client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {right}", REMOTE_ADDR="10.3.3.3")
    assert other.status_code == 200


def test_right_tokens_are_not_counted(person, settings):
    settings.CSHUB_API_BAD_TOKEN_LIMIT = 2
    right = api_token_create(user=person, name="test")[1]
    client = Client()
    for _ in range(5):
        assert client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {right}").status_code == 200


# --- The client address ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.5", "", [], "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", [], "203.0.113.5"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),  # forged left entry ignored
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", ["10.0.0.0/8"], "198.51.100.1"),  # two proxies
        ("10.0.0.2", "garbage", ["10.0.0.0/8"], "10.0.0.2"),
        ("203.0.113.5", "198.51.100.1", ["10.0.0.0/8"], "203.0.113.5"),  # not from the proxy
        ("::1", "2001:db8::7", ["::1"], "2001:db8::7"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    settings, remote, forwarded, trusted, expected
):
    settings.CSHUB_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_lockout_behind_a_trusted_proxy_is_per_real_client(person, settings):
    settings.CSHUB_TRUSTED_PROXIES = ["10.0.0.1"]
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "wrong", email="attacker@example.com", HTTP_X_FORWARDED_FOR="198.51.100.66", **proxy)
    # The attacker's address is locked; another respondent behind the same proxy is not.
    assert login(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.66", **proxy).status_code == 429
    assert login(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.77", **proxy).status_code == 302


def test_the_account_count_ignores_case_and_spaces(person, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        login(
            Client(),
            "wrong",
            email=" PERSON@example.com" if i % 2 else "Person@Example.com",
            REMOTE_ADDR=f"10.0.1.{i + 1}",
        )
    assert login(Client(), PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 429


def test_failures_for_other_accounts_do_not_lock_this_one(person, settings):
    for i in range(settings.AXES_FAILURE_LIMIT + 2):
        login(Client(), "wrong", email=f"guess{i}@example.com", REMOTE_ADDR=f"10.0.2.{i + 1}")
    assert login(Client(), PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302
