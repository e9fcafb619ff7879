"""GET/POST /api/v1/key-features/ and DELETE /api/v1/key-features/<name>/ (docs/api.md#key-features): anyone
signed in reads, admins write (an idempotent upsert on name), bad input names the row and field."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from metrics.models import KeyFeature

pytestmark = pytest.mark.django_db

URL = "/api/v1/key-features/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def names() -> dict[str, str]:
    return dict(KeyFeature.objects.values_list("name", "description"))


def test_anyone_signed_in_reads_the_list(csm):
    KeyFeature.objects.create(name="reports", description="Reporting")
    KeyFeature.objects.create(name="alerts")
    body = api(csm).get(URL).json()
    assert body["count"] == 2
    assert body["results"] == [
        {"name": "alerts", "description": ""},
        {"name": "reports", "description": "Reporting"},
    ]
    assert api().get(URL).status_code in (401, 403)


def test_admin_upserts_one_object_or_a_list_idempotently(admin_user):
    client = api(admin_user)
    response = client.post(URL, {"name": "reports", "description": "Reporting"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    payload = [{"name": "reports", "description": "Reports & exports"}, {"name": "alerts"}]
    assert client.post(URL, payload, format="json").json() == {"created": 1, "updated": 1, "unchanged": 0}
    assert client.post(URL, payload, format="json").json() == {"created": 0, "updated": 0, "unchanged": 2}
    # An omitted description is left as it was.
    assert client.post(URL, {"name": "reports"}, format="json").json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
    }
    assert names() == {"reports": "Reports & exports", "alerts": ""}


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_non_admins_may_not_write(request, who):
    KeyFeature.objects.create(name="reports")
    client = api(request.getfixturevalue(who))
    assert client.post(URL, {"name": "alerts"}, format="json").status_code == 403
    assert client.delete(f"{URL}reports/").status_code == 403
    assert names() == {"reports": ""}


@pytest.mark.parametrize(
    ("payload", "row", "field"),
    [
        ({"description": "no name"}, 0, "name"),
        ({"name": ""}, 0, "name"),
        ({"name": " padded"}, 0, "name"),
        ({"name": "x" * 101}, 0, "name"),
        ([{"name": "ok"}, {"name": "ok2", "description": "d" * 201}], 1, "description"),
        ([{"name": "same"}, {"name": "same"}], 1, "name"),
        (["not an object"], 0, "non_field_errors"),
    ],
)
def test_bad_input_is_a_400_naming_the_row_and_field_and_writes_nothing(admin_user, payload, row, field):
    response = api(admin_user).post(URL, payload, format="json")
    assert response.status_code == 400
    assert {"row": row, "field": field} in [
        {"row": e["row"], "field": e["field"]} for e in response.json()["errors"]
    ]
    assert names() == {}


def test_admin_deletes_by_name_and_unknown_is_404(admin_user):
    KeyFeature.objects.create(name="reports")
    KeyFeature.objects.create(name="data/export")
    client = api(admin_user)
    assert client.delete(f"{URL}data/export/").status_code == 204
    assert client.delete(f"{URL}reports/").status_code == 204
    assert names() == {}
    assert client.delete(f"{URL}reports/").status_code == 404


@pytest.mark.parametrize("count", [3, 40])
def test_list_query_count_is_constant(csm, count, django_assert_num_queries):
    KeyFeature.objects.bulk_create(KeyFeature(name=f"f{i:03}") for i in range(count))
    client = api(csm)
    with django_assert_num_queries(2):  # COUNT for the page, then the page
        body = client.get(URL).json()
    assert body["count"] == count
    assert len(body["results"]) == count
