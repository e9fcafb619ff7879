"""The Renewals page and list (docs/renewals.md): figures per CSM/team/total, scope per role, drill-down,
the category set in a row, CSV, bounded queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exports import read_csv
from metrics.forecast.quarters import quarter_of
from metrics.models import Renewal
from tests.conftest import client_for
from tests.factories import CustomerFactory

D = Decimal


@pytest.fixture
def due():
    return timezone.localdate() + dt.timedelta(days=10)


@pytest.fixture
def q(due):
    return quarter_of(due).key


@pytest.fixture
def renewals(csm, other_csm, due):
    a = CustomerFactory(external_id="A-1", name="=HYPERLINK(evil)", csm=csm, health_band="red")
    b = CustomerFactory(external_id="B-1", name="Beta", csm=csm)
    c = CustomerFactory(external_id="C-1", name="Gamma", csm=other_csm)
    return {
        "a": Renewal.objects.create(customer=a, due_date=due, arr_due=D(1000), category="commit"),
        "b": Renewal.objects.create(customer=b, due_date=due, arr_due=D(2000)),
        "c": Renewal.objects.create(customer=c, due_date=due, arr_due=D(4000), category="likely"),
    }


def test_manager_sees_their_teams_with_flags(manager_client, renewals, q):
    r = manager_client.get(f"/renewals/?quarter={q}")
    assert r.status_code == 200
    total = r.context["total"].figures
    assert total.arr_due == D("3000.00")  # Gamma is another team's
    assert (total.commit_arr, total.uncategorized_arr, total.expected_arr) == (D(1000), D(2000), D(1000))
    assert (total.n_flag_uncategorized, total.n_flag_commit_red) == (1, 1)
    assert [row.label for row in r.context["team_rows"]] == ["Team North"]
    assert b"commit while the customer is red" in r.content


def test_admin_sees_all_and_filters_by_csm_and_team(admin_client, renewals, other_csm, q):
    assert admin_client.get(f"/renewals/?quarter={q}").context["total"].figures.arr_due == D("7000.00")
    r = admin_client.get(f"/renewals/?quarter={q}&csm={other_csm.pk}")
    assert r.context["total"].figures.arr_due == D("4000.00")
    team = other_csm.teams.get()
    assert admin_client.get(f"/renewals/?quarter={q}&team={team.pk}").context["total"].figures.arr_due == D(
        "4000.00"
    )


def test_csm_sees_only_their_own_book(csm_client, renewals, other_csm, q):
    r = csm_client.get(f"/renewals/?quarter={q}")
    assert r.context["total"].figures.arr_due == D("3000.00")
    assert csm_client.get(f"/renewals/?quarter={q}&csm={other_csm.pk}").status_code == 403
    assert csm_client.get(f"/renewals/list/?quarter={q}&csm={other_csm.pk}").status_code == 403


def test_manager_cannot_open_another_team(manager_client, other_csm, renewals, q):
    assert manager_client.get(f"/renewals/?quarter={q}&csm={other_csm.pk}").status_code == 403
    team = other_csm.teams.get()
    assert manager_client.get(f"/renewals/?quarter={q}&team={team.pk}").status_code == 403
    assert manager_client.get(f"/renewals/?quarter={q}&csm=none").status_code == 403


@pytest.mark.parametrize("param", ["quarter=2027-Q9", "quarter=x", "csm=abc", "team=%D9%A2", "csm=99999999"])
def test_bad_parameters_never_500(admin_client, renewals, param):
    assert admin_client.get(f"/renewals/?{param}").status_code in (200, 404)
    assert admin_client.get(f"/renewals/list/?{param}&bucket=nope").status_code in (200, 404)


def test_anonymous_is_sent_to_login(anonymous, db):
    assert anonymous.get("/renewals/").status_code == 302
    assert anonymous.get("/renewals/list/").status_code == 302


def test_every_number_drills_down(manager_client, renewals, csm, q):
    r = manager_client.get(f"/renewals/list/?quarter={q}&csm={csm.pk}&bucket=uncategorized")
    assert [x.customer.external_id for x in r.context["page"].object_list] == ["B-1"]
    r = manager_client.get(f"/renewals/list/?quarter={q}&bucket=flag_commit_red")
    assert [x.customer.external_id for x in r.context["page"].object_list] == ["A-1"]
    page = manager_client.get(f"/renewals/?quarter={q}").content.decode()
    assert f"/renewals/list/?quarter={q}&amp;csm={csm.pk}&amp;bucket=commit" in page


def test_category_set_in_a_row_moves_the_page(csm_client, manager_client, renewals, q):
    b = renewals["b"]
    list_url = f"/renewals/list/?quarter={q}&bucket=uncategorized"
    r = csm_client.post(
        f"/renewals/{b.pk}/forecast/",
        {"category": "at_risk", "expected_arr": "", "note": "", "next": list_url},
    )
    assert r.status_code == 302
    assert r["Location"] == list_url
    total = manager_client.get(f"/renewals/?quarter={q}").context["total"].figures
    assert total.at_risk_arr == D("2000.00")
    assert total.expected_arr == D("2000.00")  # 1,000 commit + 2,000 x 0.5 (the fallback rate)


def test_csv_exports_escape_formulas(admin_client, renewals, q):
    rows = read_csv(b"".join(admin_client.get(f"/renewals/list/?quarter={q}&format=csv").streaming_content))
    assert rows[0][:3] == ["external_id", "customer", "csm"]
    assert "'=HYPERLINK(evil)" in [row[1] for row in rows]
    table = read_csv(
        b"".join(admin_client.get(f"/renewals/?quarter={q}&format=csv&table=csms").streaming_content)
    )
    assert table[-1][0] == "TOTAL"
    assert table[-1][table[0].index("arr_due")] == "7000"
    teams = admin_client.get(f"/renewals/?quarter={q}&format=csv&table=teams")
    assert teams.status_code == 200
    assert admin_client.get(f"/renewals/?quarter={q}&format=csv&table=weeks").status_code == 200


@pytest.mark.parametrize("n", [4, 40])
def test_page_and_list_queries_do_not_grow(admin_user, csm, due, q, n, django_assert_max_num_queries):
    for i in range(n):
        c = CustomerFactory(csm=csm, health_band="red" if i % 3 == 0 else "")
        Renewal.objects.create(
            customer=c, due_date=due, arr_due=D(100 + i), category="commit" if i % 2 else ""
        )
    client = client_for(admin_user)
    with django_assert_max_num_queries(15):  # PostgreSQL: 2 more (analytic_transaction settings)
        assert client.get(f"/renewals/?quarter={q}").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/renewals/list/?quarter={q}").status_code == 200


def test_clearing_the_category_in_a_row_drops_its_override(csm_client, renewals, q):
    a = renewals["a"]
    Renewal.objects.filter(pk=a.pk).update(expected_arr_override=D("800.00"))
    r = csm_client.post(f"/renewals/{a.pk}/forecast/", {"category": "", "expected_arr": "800.00", "note": ""})
    assert r.status_code == 302
    a.refresh_from_db()
    assert (a.category, a.expected_arr_override) == ("", None)
