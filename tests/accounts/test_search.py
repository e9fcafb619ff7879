"""The top-bar search (docs/workspace.md#search): customers, contacts, touchpoint and note text; the
index kept current on every write path; ranked groups; 400 for bad queries; a constant number of queries.
Runs on SQLite (FTS5) and, in the CI's second pass, on PostgreSQL (GIN)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import search, services
from accounts.models import Customer, Note
from tests.conftest import client_for
from tests.factories import ContactFactory, CustomerFactory, NoteFactory, TouchpointFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/search/"


@pytest.fixture
def world(customer, other_customer, csm):
    ContactFactory(customer=customer, name="Dana Buyer", email="dana.buyer@northwind.example", title="COO")
    ContactFactory(customer=other_customer, name="Sam Southpaw", email="sam@southpaw.example")
    TouchpointFactory(customer=customer, author=csm, summary="Discussed the migration to the EU datacenter.")
    NoteFactory(customer=other_customer, author=csm, text="Procurement wants a three-year migration plan.")
    NoteFactory(customer=customer, author=csm, text="Nothing about it here.")
    return customer


def test_finds_customers_by_name_prefix_and_external_id(csm_client, world):
    body = csm_client.get(API, {"q": "northw"}).json()
    assert [c["name"] for c in body["customers"]] == ["Northwind Traders"]
    assert body["customers"][0]["url"] == world.get_absolute_url()
    assert body["customers"][0]["csm"] == "Casey Csm"
    assert [c["external_id"] for c in csm_client.get(API, {"q": "SP-1"}).json()["customers"]] == ["SP-1"]


def test_every_word_must_match(csm_client, world):
    assert csm_client.get(API, {"q": "northwind traders"}).json()["customers"]
    assert csm_client.get(API, {"q": "northwind labs"}).json()["customers"] == []


def test_finds_contacts_by_name_and_email_parts(csm_client, world):
    for q in ("dana", "buyer", "northwind.example", "dana.buyer@northwind.example"):
        contacts = csm_client.get(API, {"q": q}).json()["contacts"]
        assert [c["email"] for c in contacts] == ["dana.buyer@northwind.example"], q
    assert csm_client.get(API, {"q": "dana"}).json()["contacts"][0]["customer"] == "NW-1"


def test_finds_touchpoint_and_note_text_with_a_snippet(csm_client, world):
    notes = csm_client.get(API, {"q": "migration"}).json()["notes"]
    assert {(n["kind"], n["customer"]) for n in notes} == {("touchpoint", "NW-1"), ("note", "SP-1")}
    hit = next(n for n in notes if n["kind"] == "note")
    assert "three-year migration plan" in hit["snippet"]
    assert hit["url"].endswith(f"#note-{hit['id']}")
    assert hit["author"] == "Casey Csm"


def test_ranks_the_better_match_first(customer, csm):
    NoteFactory(customer=customer, author=csm, text="renewal")
    NoteFactory(customer=customer, author=csm, text="renewal renewal renewal pricing renewal discussion")
    notes = search.search(user=csm, q="renewal").notes
    assert notes[0].snippet.startswith("renewal renewal")


def test_the_index_follows_inserts_updates_and_deletes_on_every_path(csm_client, customer, csm):
    assert not search.search(user=csm, q="zebracorn").customers
    services.customers_upsert(rows=[{"external_id": "Z-1", "name": "Zebracorn Ltd"}])  # the bulk path
    assert [c.name for c in search.search(user=csm, q="zebracorn").customers] == ["Zebracorn Ltd"]
    Customer.objects.filter(external_id="Z-1").update(name="Unicorn Ltd")  # raw UPDATE, no service
    assert not search.search(user=csm, q="zebracorn").customers
    assert [c.name for c in search.search(user=csm, q="unicorn").customers] == ["Unicorn Ltd"]
    note = services.note_log(user=csm, customer=customer, text="Quokka sighting")
    assert [n.id for n in search.search(user=csm, q="quokka").notes] == [note.pk]
    services.note_update(user=csm, note=note, text="Wombat sighting")
    assert not search.search(user=csm, q="quokka").notes
    services.note_delete(user=csm, note=note)
    assert not search.search(user=csm, q="wombat").notes
    Customer.objects.filter(external_id="Z-1").delete()
    assert not search.search(user=csm, q="unicorn").customers


def test_search_is_three_queries_at_two_sizes(csm_client, world, csm):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert csm_client.get(API, {"q": "migration northwind"}).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(40):
        CustomerFactory(name=f"Northwind {i}")
        NoteFactory(customer=world, author=csm, text=f"migration northwind step {i}")
    assert count() == small
    with CaptureQueriesContext(connection) as ctx:
        results = search.search(user=csm, q="northwind")
    assert len(ctx.captured_queries) == 3
    assert len(results.customers) == search.GROUP_SIZE


@pytest.mark.parametrize("q", ["", "   ", "!!! ---", "x" * 201])
def test_bad_query_is_a_400_naming_q(csm_client, q):
    response = csm_client.get(API, {"q": q})
    assert response.status_code == 400
    assert "q" in response.json()
    page = csm_client.get(reverse("search"), {"q": q})
    assert page.status_code == 400
    assert "search" in page.content.decode().lower()


def test_missing_q_is_a_400(csm_client):
    assert csm_client.get(API).status_code == 400


def test_deactivated_user_reads_nothing(csm, world):
    client = client_for(csm)
    csm.is_active = False
    csm.save()
    assert client.get(API, {"q": "northwind"}).status_code in (401, 403)
    with pytest.raises(PermissionDenied):
        search.search(user=csm, q="northwind")


def test_search_needs_a_login(anonymous, world):
    assert anonymous.get(API, {"q": "northwind"}).status_code in (401, 403)
    response = anonymous.get(reverse("search"), {"q": "northwind"})
    assert response.status_code == 302
    assert "/login/" in response.url


def test_any_role_finds_any_customer(other_csm_client, world):
    # Every user may read every customer (§3); nothing beyond the customer page is returned.
    body = other_csm_client.get(API, {"q": "dana"}).json()
    assert set(body) == {"customers", "contacts", "notes"}
    assert set(body["contacts"][0]) == {"customer", "customer_name", "name", "email", "title", "url"}


def test_top_bar_has_the_search_box_and_htmx_gets_the_grouped_dropdown(csm_client, world):
    page = csm_client.get(reverse("book")).content.decode()
    assert 'role="search"' in page
    assert 'hx-get="/search/"' in page
    response = csm_client.get(reverse("search"), {"q": "northwind"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.index("Customers") < body.index("Contacts")
    assert 'role="option"' in body
    assert "Northwind Traders" in body


def test_htmx_dropdown_closes_on_an_empty_box_and_explains_a_bad_query(csm_client):
    assert csm_client.get(reverse("search"), {"q": ""}, HTTP_HX_REQUEST="true").content == b""
    response = csm_client.get(reverse("search"), {"q": "!!!"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "letters or digits" in response.content.decode()


def test_results_page_without_javascript(csm_client, world):
    response = csm_client.get(reverse("search"), {"q": "migration"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Touchpoints and notes" in body
    assert "three-year migration plan" in body
    assert "Nothing matches" in csm_client.get(reverse("search"), {"q": "qwertyuiop"}).content.decode()


def test_note_text_is_found_only_while_it_exists(csm_client, world):
    Note.objects.all().delete()
    assert [n["kind"] for n in csm_client.get(API, {"q": "migration"}).json()["notes"]] == ["touchpoint"]
