"""The query-string links of the shared components (pagination, sort headers, CSV export) and the pages that
build their own: each keeps the current filters, changes one key and drops the ones it must."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory

from tests.factories import ContactFactory, CustomerFactory, ResponseFactory


def render(template: str, query: str, **context) -> str:
    request = RequestFactory().get(f"/somewhere/{query}")
    return render_to_string(template, context, request=request)


def test_pagination_links_change_the_page_and_keep_the_rest():
    page = Paginator(range(30), 10).get_page(2)
    html = render("components/pagination.html", "?q=acme&page=2&sort=-name", page=page, hx_target="#rows")
    assert 'href="?q=acme&amp;page=1&amp;sort=-name" hx-get="?q=acme&amp;page=1&amp;sort=-name"' in html
    assert 'href="?q=acme&amp;page=3&amp;sort=-name" hx-get="?q=acme&amp;page=3&amp;sort=-name"' in html


def test_pagination_link_from_a_page_without_query():
    page = Paginator(range(30), 10).get_page(1)
    html = render("components/pagination.html", "", page=page)
    assert 'rel="next" href="?page=2">' in html


@pytest.mark.parametrize(
    ("sort", "href"),
    [
        ("name", "?q=acme&amp;sort=-name"),
        ("-name", "?q=acme&amp;sort=name"),
        ("renewal", "?q=acme&amp;sort=name"),
    ],
)
def test_sort_header_toggles_the_order_and_drops_the_page(sort, href):
    html = render(
        "components/sort_header.html", f"?q=acme&page=4&sort={sort}", key="name", label="Name", sort=sort
    )
    assert f'href="{href}"' in html


def test_export_link_adds_format_and_table_and_drops_the_page():
    html = render("components/export_link.html", "?period=2025-Q1&page=3", table="bands")
    assert 'href="?period=2025-Q1&amp;format=csv&amp;table=bands"' in html


@pytest.mark.parametrize("table", [None, ""])
def test_export_link_without_a_table_drops_the_current_one(table):
    context = {} if table is None else {"table": table}
    html = render("components/export_link.html", "?segment=SMB&table=drops&page=2", **context)
    assert 'href="?segment=SMB&amp;format=csv"' in html


def test_export_link_from_a_page_without_query():
    assert 'href="?format=csv&amp;table=bands"' in render("components/export_link.html", "", table="bands")


def test_book_clear_filters_keeps_only_the_sort(csm_client, csm):
    CustomerFactory(csm=csm, name="Acme", segment="SMB")
    body = csm_client.get("/book/?q=acme&segment=SMB&page=1&sort=name").content.decode()
    assert '<a href="/book/?sort=name">Clear filters</a>' in body
    empty = csm_client.get("/book/?q=nothing-like-this&stage=mature").content.decode()
    assert 'href="/book/?"' in empty  # the empty state's "Clear filters" button


def test_survey_comments_pages_link_to_the_feed_with_the_filters(csm_client, customer):
    for _ in range(25):
        ResponseFactory(contact=ContactFactory(customer=customer), score=2, comment="Too slow.")
    first = csm_client.get("/surveys/comments/", {"kind": "nps"}).content.decode()
    assert 'href="/surveys/comments/?kind=nps&amp;page=2"' in first
    second = csm_client.get("/surveys/comments/", {"kind": "nps", "page": "2"}).content.decode()
    assert 'href="/surveys/comments/?kind=nps&amp;page=1"' in second
