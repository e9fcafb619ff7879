"""Every URL pattern by every role, generated from the URLconf (docs/architecture.md#roles-and-permissions):
anonymous visitors get only the login, password-reset and survey pages; no role ever gets a 500 from a GET.
A new URL is in the matrix without anyone adding it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import client_for
from tests.factories import RunFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

PUBLIC = re.compile(r"^/(login/|password/reset/|s/|healthz/|static/)")
SKIP = re.compile(
    r"^/(admin/|static/|api/schema/)"
)  # Django's own admin; the schema is fetched by the fuzz test


def patterns(resolvers=None, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += patterns(entry.url_patterns, route)
        else:
            found.append((route, entry))
    return found


def sample_url(route: str, ids: dict[str, str]) -> str:
    """The route with every converter filled by a value that exists (or a harmless one)."""

    def fill(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if name in ids:
            return ids[name]
        return "1" if converter == "int" else "x"

    url = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    return "/" + url.lstrip("^").rstrip("$").replace("\\Z", "")


@pytest.fixture
def world(csm, manager, admin_user, customer):
    run = RunFactory(customer=customer, assignee=csm)
    task = TaskFactory(run=run, assignee=csm)
    ids = {
        "external_id": customer.external_id,
        "pk": str(task.pk),
        "playbook_pk": str(run.playbook.pk),
        "job_id": "1",
        "token": "no-such-token",
        "uidb64": "MQ",
        "key": "x",
        "name": "x",
    }
    return ids


def urls(ids: dict[str, str]) -> list[str]:
    return sorted(
        {sample_url(route, ids) for route, _ in patterns() if not SKIP.match(sample_url(route, ids))}
    )


def test_the_matrix_covers_the_urlconf(world):
    assert len(urls(world)) > 40


def test_anonymous_gets_only_the_public_pages(world):
    client = Client()
    leaks = []
    for url in urls(world):
        response = client.get(url)
        if PUBLIC.match(url):
            assert response.status_code < 500, url
            continue
        if response.status_code == 302:
            assert response["Location"].startswith("/login/"), url
        elif response.status_code not in (401, 403, 404, 405):
            leaks.append(f"{url}: {response.status_code}")
    assert leaks == []


@pytest.mark.parametrize("role", ["csm", "other_csm", "manager", "admin"])
def test_no_role_gets_a_server_error_from_any_page(world, request, role):
    user = request.getfixturevalue({"admin": "admin_user"}.get(role, role))
    client = client_for(user)
    errors = []
    for url in urls(world):
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(f"{url}: {response.status_code}")
    assert errors == []


def test_a_deactivated_user_is_signed_out_everywhere(world):
    gone = UserFactory(email="gone@example.com", is_active=False)
    client = client_for(gone)
    for url in urls(world):
        if not PUBLIC.match(url):
            assert client.get(url).status_code in (302, 401, 403, 404, 405), url
