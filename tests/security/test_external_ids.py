"""external_id is [A-Za-z0-9._:-] (docs/api.md#external-ids): refused elsewhere in the API, CSV and admin;
rows written before the rule stay reachable through core.converters (every page that lists them was a 500)."""

from __future__ import annotations

import io
import json
import re

import pytest

from accounts.models import Customer
from core.converters import ExternalIdConverter
from integrations.csv_import import csv_import
from tests.conftest import client_for
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LEGACY = ["ACME/EU", "a/b/timeline", "Ünïcode 1", "..", "50%?#&", "tilde~7E"]


@pytest.mark.parametrize(
    "value",
    ["a/b", "a b", "a%2Fb", "..", ".", "a\u200bb", "a\u202eb", "ünï", "a#b", "a?b", "x" * 101, ""],
)
def test_api_refuses_an_external_id_outside_the_charset(admin_client, value):
    response = admin_client.post(
        "/api/v1/customers/", json.dumps({"external_id": value, "name": "N"}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "external_id"
    assert not Customer.objects.exists()


@pytest.mark.parametrize("value", ["ACME-1", "acme.eu:42", "A_b-C.d:9", "0"])
def test_api_accepts_the_charset(admin_client, value):
    response = admin_client.post(
        "/api/v1/customers/", json.dumps({"external_id": value, "name": "N"}), content_type="application/json"
    )
    assert response.status_code == 200
    assert Customer.objects.get().external_id == value


def test_ticket_external_id_has_the_charset_too(admin_client, customer):
    row = {"external_id": "T/1", "customer": "NW-1", "opened_at": "2026-01-01T10:00:00", "priority": "low"}
    response = admin_client.post("/api/v1/tickets/", json.dumps(row), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "external_id"


def test_csv_import_refuses_an_external_id_outside_the_charset():
    result = csv_import(kind="customers", file=io.StringIO("external_id,name\nGOOD-1,Good\nBAD/1,Bad\n"))
    assert not result.ok
    assert [(e.row, e.field) for e in result.errors] == [(3, "external_id")]
    assert not Customer.objects.exists()


def test_admin_form_refuses_an_external_id_outside_the_charset(admin_user):
    admin_user.is_superuser = True
    admin_user.save()
    response = client_for(admin_user).post(
        "/admin/accounts/customer/add/",
        {"external_id": "A/B", "name": "N", "licenses": "0", "lifecycle_stage": "onboarding"},
    )
    assert response.status_code == 200  # the form again, with its error
    assert "Use only letters" in response.content.decode()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("value", [*LEGACY, "PLAIN-1", "x" * 100])
def test_converter_round_trips_any_id(value):
    converter = ExternalIdConverter()
    url = converter.to_url(value)
    assert re.fullmatch(converter.regex, url)
    assert "/" not in url
    assert set(url) != {"."}
    assert converter.to_python(url) == value


def test_new_ids_are_their_own_url():
    assert ExternalIdConverter().to_url("acme.eu:42") == "acme.eu:42"


@pytest.mark.parametrize("legacy", LEGACY)
def test_pages_listing_a_legacy_id_open_and_link_to_it(csm, csm_client, manager_client, legacy):
    customer = CustomerFactory(external_id=legacy, name="Legacy Corp", csm=csm)  # written before the rule
    for url in ["/", "/book/", "/book/?q=Legacy"]:
        response = csm_client.get(url)
        assert response.status_code == 200, url
    book = csm_client.get("/book/?q=Legacy").content.decode()
    link = customer.get_absolute_url()
    assert f'href="{link}"' in book
    page = csm_client.get(link)
    assert page.status_code == 200
    assert "Legacy Corp" in page.content.decode()
    assert csm_client.get(link + "timeline/").status_code == 200
    assert manager_client.get("/playbooks/assign/?q=Legacy").status_code == 200
    api = csm_client.get(f"/api/v1/customers/{ExternalIdConverter().to_url(legacy)}/")
    assert api.status_code == 200
    assert api.json()["external_id"] == legacy
