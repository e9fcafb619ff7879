"""Saved views of the Book (docs/workspace.md#saved-views): save, list, apply, delete (owner only), shared
with the team."""

import pytest
from django.urls import reverse

from accounts.models import SavedView
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def save(client, name="Red renewals", query="band=red&renewal=90&page=3&evil=1", shared=False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("saved_view_create"), data)


def test_save_keeps_only_book_filters_and_applies(csm_client, csm):
    response = save(csm_client)
    view = SavedView.objects.get()
    assert view.owner == csm
    assert view.query == "renewal=90&band=red"
    assert response["Location"] == "/book/?renewal=90&band=red"
    html = csm_client.get(reverse("book")).content.decode()
    assert 'href="/book/?renewal=90&amp;band=red"' in html


def test_shared_view_is_seen_by_the_team_only(csm_client, manager_client, other_csm_client):
    save(csm_client, name="Shared one", shared=True)
    save(csm_client, name="Private one")
    assert "Shared one" in manager_client.get(reverse("book")).content.decode()
    assert "Private one" not in manager_client.get(reverse("book")).content.decode()
    other = other_csm_client.get(reverse("book")).content.decode()
    assert "Shared one" not in other


def test_only_the_owner_deletes(csm_client, manager_client, other_csm_client):
    save(csm_client, name="Shared one", shared=True)
    view = SavedView.objects.get()
    url = reverse("saved_view_delete", args=[view.pk])
    assert manager_client.post(url).status_code == 403  # visible to them, not theirs
    assert other_csm_client.post(url).status_code == 404  # not even visible
    assert csm_client.post(url).status_code == 302
    assert not SavedView.objects.exists()


def test_bad_names_are_400(csm_client):
    assert save(csm_client, name="  ").status_code == 400
    save(csm_client, name="Mine")
    assert save(csm_client, name="Mine").status_code == 400
    assert save(csm_client, name="x" * 101).status_code == 400
    assert SavedView.objects.count() == 1


def test_anonymous_cannot_save(anonymous):
    assert save(anonymous).status_code == 302
    assert not SavedView.objects.exists()


def test_book_with_saved_views_has_flat_queries(csm_client, csm, django_assert_max_num_queries):
    CustomerFactory.create_batch(3, csm=csm, health_band="red")
    save(csm_client, name="One")
    with django_assert_max_num_queries(20) as small:
        csm_client.get("/book/?band=red")
    baseline = len(small.captured_queries)  # read now: the next requests reset the query log
    for i in range(10):
        save(csm_client, name=f"View {i}")
    CustomerFactory.create_batch(20, csm=csm, health_band="red")
    with django_assert_max_num_queries(baseline):
        csm_client.get("/book/?band=red")
