"""API tokens (named, hashed, revocable, optional expiry), password change and reset by email
(docs/api.md#authentication, docs/operations.md#accounts)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create, hash_key
from core import ratelimit
from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


def api(key: str) -> int:
    return Client().get(CUSTOMERS, HTTP_AUTHORIZATION=f"Token {key}").status_code


@pytest.fixture(autouse=True)
def _fresh_counters():
    from django.core.cache import cache

    cache.clear()
    ratelimit.local.reset()


def test_a_user_creates_several_named_tokens_each_shown_once(csm_client, csm):
    first = csm_client.post("/account/tokens/", {"name": "BI export", "expires_in_days": ""})
    assert first.status_code == 200
    key = re.search(r'id="new-token">([0-9a-f]{64})<', first.content.decode())[1]
    assert api(key) == 200
    second = csm_client.post("/account/tokens/", {"name": "Stripe sync", "expires_in_days": "30"})
    key2 = re.search(r'id="new-token">([0-9a-f]{64})<', second.content.decode())[1]
    assert api(key2) == 200
    tokens = ApiToken.objects.filter(user=csm)
    assert sorted(tokens.values_list("name", flat=True)) == ["BI export", "Stripe sync"]
    assert {t.key_hash for t in tokens} == {hash_key(key), hash_key(key2)}
    listing = csm_client.get("/account/tokens/").content.decode()
    assert key not in listing
    assert key[:8] in listing


def test_a_revoked_token_is_refused_at_once(csm_client, csm):
    token, key = api_token_create(user=csm, name="laptop")
    assert csm_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert api(key) == 401


def test_an_expired_token_is_refused(csm):
    _, key = api_token_create(user=csm, name="old", expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert api(key) == 401


def test_a_deactivated_users_token_is_refused(csm):
    _, key = api_token_create(user=csm, name="x")
    csm.is_active = False
    csm.save()
    assert api(key) == 401


def test_a_csm_cannot_see_or_revoke_someone_elses_token(csm_client, other_csm):
    token, key = api_token_create(user=other_csm, name="theirs")
    assert "theirs" not in csm_client.get("/account/tokens/").content.decode()
    assert csm_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert api(key) == 200


def test_an_admin_sees_and_revokes_anyones_token(admin_client, csm):
    token, key = api_token_create(user=csm, name="leaked")
    page = admin_client.get("/account/tokens/").content.decode()
    assert "leaked" in page
    assert csm.email in page
    assert admin_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert api(key) == 401


def test_token_use_is_stamped(csm):
    token, key = api_token_create(user=csm, name="x")
    api(key)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_anonymous_cannot_open_the_tokens_page(anonymous):
    assert anonymous.get("/account/tokens/").status_code == 302


# --- Passwords ----------------------------------------------------------------------------------------------


def test_a_user_changes_their_password(csm):
    csm.set_password(PASSWORD)
    csm.save()
    client = client_for(csm)
    wrong = client.post(
        "/password/change/",
        {"old_password": "nope", "new_password1": "A-new-pass-42!", "new_password2": "A-new-pass-42!"},
    )
    assert wrong.status_code == 200
    assert "incorrectly" in wrong.content.decode()
    done = client.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": "A-new-pass-42!", "new_password2": "A-new-pass-42!"},
    )
    assert done.status_code == 302
    assert Client().login(username=csm.email, password="A-new-pass-42!")


def test_password_reset_by_email_with_a_link_on_site_url(csm, settings):
    settings.SITE_URL = "https://cshub.example.com"
    response = Client().post("/password/reset/", {"email": csm.email})  # Host: testserver
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https://cshub\.example\.com(/password/reset/\S+/)", mail.outbox[0].body)[1]
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "Reset-pass-77!", "new_password2": "Reset-pass-77!"}
    )
    assert done.status_code == 302
    assert Client().login(username=csm.email, password="Reset-pass-77!")
    assert Client().get(link, follow=True).context["validlink"] is False  # used once


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(db):
    response = Client().post("/password/reset/", {"email": "ghost@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_requests_are_limited_per_address(csm):
    codes = [Client().post("/password/reset/", {"email": csm.email}).status_code for _ in range(6)]
    assert codes == [302] * 5 + [429]
    assert len(mail.outbox) == 5
