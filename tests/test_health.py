from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from django.test import RequestFactory

from cshub import health


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_answers():
    response = health.healthz(RequestFactory().get("/healthz/"))

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_refuses_writes():
    assert health.healthz(RequestFactory().post("/healthz/")).status_code == 405


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("cshub.example.com,www.example.com", "cshub.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_health_check_asks_as_an_allowed_host(monkeypatch, allowed_hosts, expected):
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)

    assert health._host() == expected


def test_health_check_command_reports_the_server_state(live_server, monkeypatch):
    monkeypatch.setenv("PORT", str(urlparse(live_server.url).port))
    monkeypatch.setenv("ALLOWED_HOSTS", "testserver")

    assert health.main(["health", "/admin/login/"]) == 0
    assert health.main(["health", "/no-such-page/"]) == 1


def test_health_check_command_fails_when_nothing_listens(monkeypatch):
    monkeypatch.setenv("PORT", "9")  # discard: nothing serves HTTP there

    assert health.main(["health"]) == 1
