"""The public survey pages' rate limit (docs/surveys.md#rate-limit): per client address behind a trusted
proxy, per link token, and still limiting (never a 500) while Redis is down."""

from __future__ import annotations

import socket
import time

import pytest
from django.urls import reverse

from core import ratelimit
from surveys.models import Response
from tests.factories import invitation_with_token
from tests.surveys.conftest import free_port


@pytest.fixture(autouse=True)
def _fresh_local_counts(settings):
    # An hour's window: a minute's could end between a test's third and fourth request (fixed windows).
    settings.CSHUB_SURVEY_RATE_WINDOW = 3600
    ratelimit.local.reset()
    yield
    ratelimit.local.reset()
    ratelimit._redis.cache_clear()


@pytest.fixture
def link(db):
    return invitation_with_token()


def answer_url(token: str) -> str:
    return reverse("surveys:answer", kwargs={"token": token})


def test_respondents_behind_a_trusted_proxy_are_counted_apart(anonymous, link, settings):
    settings.CSHUB_SURVEY_RATE_LIMIT = 3
    settings.CSHUB_TRUSTED_PROXIES = ["10.0.0.1"]
    _, token = link
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    hammering = [
        anonymous.get(answer_url(token), HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy).status_code
        for _ in range(4)
    ]
    assert hammering == [200, 200, 200, 429]
    _, other_token = invitation_with_token()
    neighbour = anonymous.get(answer_url(other_token), HTTP_X_FORWARDED_FOR="198.51.100.10", **proxy)
    assert neighbour.status_code == 200


def test_a_forged_forwarded_for_does_not_dodge_the_limit_without_a_trusted_proxy(anonymous, link, settings):
    settings.CSHUB_SURVEY_RATE_LIMIT = 3
    _, token = link
    codes = [
        anonymous.get(answer_url(token), HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_one_token_is_limited_from_many_addresses(anonymous, link, settings):
    settings.CSHUB_SURVEY_TOKEN_RATE_LIMIT = 3
    _, token = link
    codes = [anonymous.get(answer_url(token), REMOTE_ADDR=f"203.0.113.{i}").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert anonymous.post(answer_url(token), {"score": "9"}, REMOTE_ADDR="203.0.113.99").status_code == 429
    assert Response.objects.count() == 0
    _, other = invitation_with_token()
    assert anonymous.get(answer_url(other), REMOTE_ADDR="203.0.113.1").status_code == 200


def closed_port() -> int:
    port = free_port()
    with socket.socket() as s:  # nothing listens there: connections are refused at once
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_pages_work_and_still_limit_while_redis_is_down(anonymous, link, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    ratelimit._redis.cache_clear()
    settings.CSHUB_SURVEY_RATE_LIMIT = 3
    _, token = link
    codes = [anonymous.get(answer_url(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # counted in the process instead
    assert anonymous.get(answer_url(token), REMOTE_ADDR="10.7.7.7").status_code == 200


def test_pages_work_while_the_cache_is_down(anonymous, link, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    _, token = link
    response = anonymous.post(answer_url(token), {"score": "9"})
    assert response.status_code == 302
    assert Response.objects.count() == 1
    assert ratelimit.local.shared_down_until > 0  # the cache really was unreachable


def test_a_down_store_is_left_alone_for_a_few_seconds(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    ratelimit._redis.cache_clear()
    before = time.monotonic()
    assert ratelimit.allow("k", limit=10, window=60)
    assert ratelimit.local.shared_down_until >= before + ratelimit.REDIS_RETRY_AFTER
