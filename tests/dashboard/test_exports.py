"""CSV exports wired into other pages: the Book (filters and sort applied), and the helper itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer
from core.exports import cell, read_csv
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return read_csv(b"".join(response.streaming_content))


def test_book_csv_has_every_filtered_customer_in_the_tables_order(csm, csm_client, other_csm):
    for i in range(60):
        CustomerFactory(csm=csm, name=f"Acme {i:02d}", segment="SMB" if i % 2 else "Enterprise")
    CustomerFactory(csm=other_csm, name="Acme other book", segment="SMB")
    rows = _csv(csm_client.get(reverse("book"), {"segment": "SMB", "sort": "-name", "format": "csv"}))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["external_id", "customer"]
    expected = list(Customer.objects.filter(csm=csm, segment="SMB").order_by("-name"))
    assert [r[1] for r in body] == [c.name for c in expected]  # all 30, not one page of 50
    # The page shows the same first rows in the same order.
    page = csm_client.get(reverse("book"), {"segment": "SMB", "sort": "-name"}).content.decode()
    positions = [page.index(c.name) for c in expected[:5]]
    assert positions == sorted(positions)
    assert "format=csv" in page


def test_book_csv_respects_the_book_permissions(csm_client, other_csm):
    assert csm_client.get(reverse("book"), {"csm": other_csm.pk, "format": "csv"}).status_code == 403


def test_book_csv_queries_are_constant(csm, csm_client, django_assert_max_num_queries):
    CustomerFactory.create_batch(3, csm=csm)
    with django_assert_max_num_queries(6):
        _csv(csm_client.get(reverse("book"), {"format": "csv"}))
    CustomerFactory.create_batch(40, csm=csm)
    with django_assert_max_num_queries(6):
        _csv(csm_client.get(reverse("book"), {"format": "csv"}))


def test_cells_are_data_and_never_formulas():
    assert cell(None) == ""
    assert cell(Decimal("1200.00")) == "1200"
    assert cell(Decimal("0.9750")) == "0.9750"
    assert cell(dt.date(2026, 1, 2)) == "2026-01-02"
    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert cell("-5 people") == "'-5 people"
    assert cell(-5) == -5


# --- Revenue page (metrics) -----------------------------------------------------------------------


def test_revenue_page_tables_export_with_their_filters(customer, csm_client):
    from metrics.models import MrrEntry
    from metrics.revenue import monthly_revenue, revenue_metrics
    from metrics.scope import Scope
    from metrics.services import mrr_ledger_relink

    MrrEntry.objects.create(customer=customer, effective_date=dt.date(2026, 1, 10), mrr=100)
    MrrEntry.objects.create(customer=customer, effective_date=dt.date(2026, 2, 10), mrr=150)
    mrr_ledger_relink(customer_ids=[customer.pk])
    params = {"period": "custom", "start": "2026-02-01", "end": "2026-02-28"}
    bridge = _csv(csm_client.get(reverse("revenue"), {**params, "format": "csv", "table": "bridge"}))
    m = revenue_metrics(scope=Scope(), start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28))
    assert bridge[1] == ["Opening MRR", cell(m.mrr_start)]
    assert bridge[-1] == ["Closing MRR", cell(m.mrr_end)]
    assert ["Expansion", "50"] in bridge
    months = _csv(csm_client.get(reverse("revenue"), {**params, "format": "csv", "table": "months"}))
    engine = monthly_revenue(scope=Scope(), last_month=dt.date(2026, 2, 28), months=12)
    assert [r[0] for r in months[1:]] == [e.start.isoformat() for e in engine]
    assert months[-1][months[0].index("mrr_end")] == cell(engine[-1].mrr_end)
    # Without filters, the export still answers (the page's default period).
    assert csm_client.get(reverse("revenue"), {"format": "csv", "table": "bridge"}).status_code == 200
    listed = _csv(
        csm_client.get(reverse("revenue_customers"), {**params, "metric": "expansion", "format": "csv"})
    )
    assert [r[0] for r in listed[1:]] == [customer.external_id]
    page = csm_client.get(reverse("revenue"), params).content.decode()
    assert "format=csv" in page


# --- Surveys results page --------------------------------------------------------------------------


def test_survey_results_tables_export_with_their_filters(customer, other_customer, csm, csm_client):
    from django.utils import timezone

    from surveys.models import Response

    now = timezone.now()
    for score, c in [(10, customer), (9, customer), (2, customer), (0, other_customer)]:
        Response.objects.create(
            customer=c,
            contact_email=f"{score}@x.example",
            kind="nps",
            score=score,
            answered_at=now - dt.timedelta(days=1),
        )
    rows = _csv(
        csm_client.get(reverse("surveys:results"), {"csm": csm.pk, "format": "csv", "table": "months"})
    )
    header = rows[0]
    assert header[:3] == ["month", "nps", "nps_responses"]
    assert rows[-1][header.index("nps_responses")] == "3"
    assert float(rows[-1][header.index("nps")]) == pytest.approx(100 * (2 - 1) / 3, abs=0.01)
    everyone = _csv(csm_client.get(reverse("surveys:results"), {"format": "csv", "table": "months"}))
    assert everyone[-1][header.index("nps_responses")] == "4"
    dist = _csv(csm_client.get(reverse("surveys:results"), {"format": "csv", "table": "distribution"}))
    assert ["nps", "10", "1"] in dist
    assert ["nps", "0", "1"] in dist
    assert (
        _csv(csm_client.get(reverse("surveys:results"), {"format": "csv", "table": "campaigns"}))[0][0]
        == "sent_at"
    )
