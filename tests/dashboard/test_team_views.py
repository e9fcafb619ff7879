"""The team page and GET /api/v1/metrics/team/: permissions, validation, CSV export, constant queries."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from core.exports import read_csv
from dashboard.team import row_data, team_performance
from tests.conftest import client_for
from tests.dashboard.conftest import Q_END, Q_START, build_book, make_csm

pytestmark = pytest.mark.django_db

API = "/api/v1/metrics/team/"
PERIOD = "2025-Q2"  # Q_START..Q_END


def api_url(start=Q_START, end=Q_END) -> str:
    return f"{API}?start={start}&end={end}"


# --- Permissions ----------------------------------------------------------------------------------


def test_csm_gets_403_on_the_team_page_and_api(team, csm_client):
    assert csm_client.get(reverse("team")).status_code == 403
    assert csm_client.get(api_url()).status_code == 403


def test_anonymous_is_sent_to_login_and_api_answers_401_or_403(team, anonymous):
    response = anonymous.get(reverse("team"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert anonymous.get(api_url()).status_code in (401, 403)


def test_manager_page_and_api_list_only_their_teams_csms(team, manager_client, csm, other_csm):
    page = manager_client.get(reverse("team"), {"period": PERIOD}).content.decode()
    assert csm.email in page
    assert "second.csm@example.com" in page
    assert other_csm.email not in page
    data = manager_client.get(api_url()).json()
    assert {r["csm_email"] for r in data["rows"]} == {csm.email, "second.csm@example.com"}
    assert data["total"]["book_size"] == 16


def test_other_manager_sees_only_their_own_team(team, other_manager, other_csm):
    data = client_for(other_manager).get(api_url()).json()
    assert [r["csm_email"] for r in data["rows"]] == [other_csm.email]


def test_admin_sees_every_csm(team, admin_client):
    data = admin_client.get(api_url()).json()
    assert len(data["rows"]) == 3
    assert data["total"]["book_size"] == 24


# --- API shape and validation ---------------------------------------------------------------------


def test_api_rows_equal_the_selector(team, admin_client, admin_user):
    data = admin_client.get(api_url()).json()
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    assert data["start"] == str(Q_START)
    assert data["end"] == str(Q_END)
    assert data["as_of"] == str(Q_END)
    assert data["rows"] == [row_data(r) for r in perf.rows]
    assert data["total"] == row_data(perf.total)
    assert data["total"]["csm_name"] == "TOTAL"
    assert isinstance(data["total"]["arr"], str)  # money: decimal strings (docs/api.md)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "start"),
        ("start=2025-04-01", "end"),
        ("start=nope&end=2025-06-30", "start"),
        ("start=2025-06-30&end=2025-04-01", "end"),
        ("start=2000-01-01&end=2025-01-01", "end"),
    ],
)
def test_api_bad_params_answer_400_with_field_messages(team, admin_client, query, field):
    response = admin_client.get(f"{API}?{query}")
    assert response.status_code == 400
    assert field in response.json()


# --- HTML page ------------------------------------------------------------------------------------


def test_page_links_each_csm_to_their_book_and_shows_a_total_row(team, admin_client, csm):
    page = admin_client.get(reverse("team"), {"period": PERIOD}).content.decode()
    assert f'href="/book/?csm={csm.pk}"' in page
    assert "<tfoot>" in page
    assert "TOTAL" in page
    assert "Q2 2025" in page


def test_page_sorts_by_a_column(team, admin_client, admin_user):
    page = admin_client.get(reverse("team"), {"period": PERIOD, "sort": "-book"}).content.decode()
    assert 'aria-sort="descending"' in page


def test_sort_control_offers_every_column_both_ways_and_belongs_to_the_filter_form(team, admin_client):
    """On a phone the stacked table hides its header row: the "Sort by" select is the way to sort there."""
    from dashboard.team import TEAM_SORT_LABELS, TEAM_SORTS

    assert set(TEAM_SORT_LABELS) == set(TEAM_SORTS)
    page = admin_client.get(reverse("team"), {"period": PERIOD, "sort": "-arr"}).content.decode()
    select = re.search(
        r'<select class="select" name="sort" id="id_team_sort"[^>]*>(.*?)</select>', page, re.S
    )
    assert select is not None
    assert 'form="team-filters"' in select.group(0)
    options = re.findall(r'<option value="([^"]+)"( selected)?>', select.group(1))
    assert {v for v, _ in options} == set(TEAM_SORTS) | {f"-{k}" for k in TEAM_SORTS}
    assert [v for v, selected in options if selected] == ["-arr"]
    assert page.count('name="sort"') == 1  # no stale hidden copy in the form


def test_unknown_period_falls_back_to_the_current_quarter(team, admin_client):
    response = admin_client.get(reverse("team"), {"period": "1999-Q9"})
    assert response.status_code == 200


def test_htmx_sort_answers_only_the_table(team, admin_client):
    response = admin_client.get(reverse("team"), {"period": PERIOD, "sort": "arr"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="team-table"' in body
    assert "HX-Request" in response["Vary"]


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_export_matches_the_table_with_its_filters(team, admin_client, admin_user):
    response = admin_client.get(reverse("team"), {"period": PERIOD, "sort": "-arr", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "team-2025-q2" in response["Content-Disposition"]
    rows = read_csv(b"".join(response.streaming_content))
    header, body = rows[0], rows[1:]
    perf = team_performance(viewer=admin_user, start=Q_START, end=Q_END)
    expected = sorted(perf.rows, key=lambda r: r.arr, reverse=True)
    assert header == list(row_data(perf.total))
    assert [r[header.index("csm_email")] for r in body[:-1]] == [r.csm.email for r in expected]
    assert body[-1][header.index("csm_name")] == "TOTAL"
    for line, row in zip(body, [*expected, perf.total], strict=True):
        data = row_data(row)
        assert line[header.index("book_size")] == str(data["book_size"])
        assert line[header.index("arr")] == data["arr"]
        nrr = line[header.index("nrr")]
        assert (float(nrr) if nrr else None) == data["nrr"]
    # The HTML table shows the same rows in the same order.
    page = admin_client.get(reverse("team"), {"period": PERIOD, "sort": "-arr"}).content.decode()
    shown = re.findall(r'table__secondary">([^<]+@example\.com)</span>', page)
    assert shown == [r.csm.email for r in expected]


def test_csm_cannot_export_the_team_csv(team, csm_client):
    assert csm_client.get(reverse("team"), {"format": "csv"}).status_code == 403


# --- Query counts ---------------------------------------------------------------------------------


def test_page_and_api_queries_do_not_grow_with_csms_or_customers(
    admin_client, manager, django_assert_max_num_queries
):
    build_book(make_csm("a@example.com", manager), 2, seed=1, prefix="P")
    with django_assert_max_num_queries(14):
        assert admin_client.get(reverse("team"), {"period": PERIOD}).status_code == 200
    with django_assert_max_num_queries(14):
        assert admin_client.get(api_url()).status_code == 200
    for i in range(5):
        build_book(make_csm(f"b{i}@example.com", manager), 15, seed=i, prefix=f"Q{i}")
    with django_assert_max_num_queries(14):
        assert admin_client.get(reverse("team"), {"period": PERIOD}).status_code == 200
    with django_assert_max_num_queries(14):
        assert admin_client.get(api_url()).status_code == 200
