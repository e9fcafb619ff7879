"""Revenue page, the customers behind each number, customer page panels and first-value milestones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.templatetags.cshub_format import money_short
from metrics.forms import period_words
from metrics.models import ValueMilestone
from tests.factories import CustomerFactory, RenewalFactory, TicketFactory

from .conftest import bulk_customers, ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(csm):
    a, b, c = (CustomerFactory(name=n, csm=csm, segment="SMB") for n in ("Alpha", "Bravo", "Charlie"))
    ledger([(a, "2024-01-01", 100), (b, "2024-01-01", 200), (c, "2024-01-01", 300)])
    ledger([(a, "2024-03-10", 150), (b, "2024-03-12", 0), (c, "2024-03-15", 250)])
    return a, b, c


@pytest.mark.parametrize("client_name", ["csm_client", "manager_client", "admin_client"])
def test_revenue_page_for_every_role(client_name, request, cohort):
    client = request.getfixturevalue(client_name)
    response = client.get(reverse("revenue"), {"period": "month", "date": "2024-03-20"})
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("MRR", "ARR", "NRR", "GRR", "Customer churn", "Quick ratio", "CLV", "Expansion MRR"):
        assert f">{label}</span>" in body
    assert "$400" in body  # closing MRR 150 + 0 + 250
    assert 'id="waterfall-table"' in body
    assert "Mar 2024" in body
    assert "metric=churned" in body


def test_revenue_tiles_write_money_as_the_money_short_filter_does(manager_client, csm):
    ledger([(CustomerFactory(name="Big", csm=csm), "2024-01-01", 12345)])
    response = manager_client.get(reverse("revenue"), {"period": "month", "date": "2024-03-20"})
    tiles = {t["key"]: t for t in response.context["tiles"]}
    assert tiles["mrr"]["value"] == money_short(Decimal("12345")) == "$12K"
    assert tiles["arr"]["value"] == money_short(Decimal("148140")) == "$148K"


def test_revenue_page_custom_period_errors_are_400(manager_client):
    response = manager_client.get(reverse("revenue"), {"period": "custom", "start": "2024-03-01"})
    assert response.status_code == 400
    assert "Choose the last day" in response.content.decode()


def test_anonymous_cannot_see_revenue(anonymous):
    assert anonymous.get(reverse("revenue")).status_code == 302
    assert anonymous.get(reverse("revenue_customers")).status_code == 302


def test_customer_lists_show_who_and_how_much(manager_client, cohort):
    params = {"start": "2024-03-01", "end": "2024-03-31"}
    churned = manager_client.get(
        reverse("revenue_customers"), {**params, "metric": "churned"}
    ).content.decode()
    assert "Bravo" in churned
    assert "Alpha" not in churned
    expanded = manager_client.get(
        reverse("revenue_customers"), {**params, "metric": "expansion"}
    ).content.decode()
    assert "Alpha" in expanded
    assert "+50.00" in expanded
    contracted = manager_client.get(reverse("revenue_customers"), {**params, "metric": "contraction"}).content
    assert b"Charlie" in contracted
    assert "\u221250.00".encode() in contracted  # minus sign


def test_customer_list_bad_metric_is_400(manager_client):
    response = manager_client.get(reverse("revenue_customers"), {"start": "2024-03-01", "end": "2024-03-31"})
    assert response.status_code == 400


def test_revenue_pages_query_count_is_constant(manager_client, django_assert_max_num_queries):
    for size in (3, 30):
        customers = bulk_customers(f"V{size}", size)
        ledger([(c, "2024-01-01", 10) for c in customers] + [(c, "2024-02-01", 20) for c in customers])
        with django_assert_max_num_queries(50):  # 13 periods x (2 queries + SET LOCAL jit on PostgreSQL)
            assert manager_client.get(reverse("revenue"), {"date": "2024-02-10"}).status_code == 200
        with django_assert_max_num_queries(8):
            response = manager_client.get(
                reverse("revenue_customers"),
                {"start": "2024-02-01", "end": "2024-02-29", "metric": "expansion"},
            )
            assert response.status_code == 200


def test_customer_page_shows_metric_panels(csm_client, customer):
    ledger([(customer, "2024-01-01", 100), (customer, "2024-06-01", 120)])
    now = timezone.now()
    TicketFactory(customer=customer, external_id="T-OPEN", opened_at=now - dt.timedelta(days=1))
    TicketFactory(
        customer=customer,
        external_id="T-DONE",
        opened_at=now - dt.timedelta(days=3),
        resolved_at=now - dt.timedelta(days=3) + dt.timedelta(hours=5),
    )
    RenewalFactory(customer=customer, due_date=dt.date(2025, 1, 1), outcome="renewed", renewed_arr=1500)
    body = csm_client.get(customer.get_absolute_url()).content.decode()
    for title in ("Revenue", "Usage", "Support tickets", "Renewals"):
        assert f"<h2>{title}</h2>" in body
    assert "$120.00" in body
    assert body.index("T-OPEN") < body.index("T-DONE")  # open tickets first
    assert "5.0 h" in body
    assert "Renewed" in body
    assert "Log a first-value milestone" in body


def test_csm_logs_first_value_on_own_customer(csm_client, customer):
    url = reverse("value_milestone_log", args=[customer.external_id])
    response = csm_client.post(url, {"achieved_on": "2024-02-29", "note": "First report"})
    assert response.status_code == 302
    assert ValueMilestone.objects.get(customer=customer).achieved_on == dt.date(2024, 2, 29)


def test_csm_cannot_log_first_value_on_other_book(csm_client, other_customer):
    url = reverse("value_milestone_log", args=[other_customer.external_id])
    assert csm_client.post(url, {"achieved_on": "2024-02-29"}).status_code == 403
    assert not ValueMilestone.objects.exists()


def test_future_first_value_is_refused(csm_client, customer):
    url = reverse("value_milestone_log", args=[customer.external_id])
    future = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    csm_client.post(url, {"achieved_on": future})
    assert not ValueMilestone.objects.exists()


def test_admin_pages_list_metrics_data(customer):
    from django.test import Client

    from tests.factories import UserFactory

    root = UserFactory(email="root@example.com", role="admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    ledger([(customer, "2024-01-01", 100)])
    for model in ("mrrentry", "usageevent", "usagedaily", "usageuserday", "ticket", "renewal", "keyfeature"):
        assert client.get(f"/admin/metrics/{model}/").status_code == 200, model
    assert client.get("/admin/metrics/keyfeature/add/").status_code == 200
    assert client.get("/admin/metrics/mrrentry/add/").status_code == 403  # ledger rows come from ingestion


def test_revenue_defaults_to_the_viewers_own_customers_and_names_them(csm_client, csm, other_csm):
    ledger([(CustomerFactory(name="Mine", csm=csm), "2024-01-01", 100)])
    ledger([(CustomerFactory(name="Theirs", csm=other_csm), "2024-01-01", 900)])
    params = {"period": "month", "date": "2024-03-20"}
    mine = csm_client.get(reverse("revenue"), params)
    assert mine.context["form"].scope_label == "Your book"
    assert '<span id="revenue-scope">Your book</span>' in mine.content.decode()
    assert {t["key"]: t["value"] for t in mine.context["tiles"]}["mrr"] == "$100"
    everyone = csm_client.get(reverse("revenue"), {**params, "whose": "all"})
    assert everyone.context["form"].scope_label == "All customers"
    assert {t["key"]: t["value"] for t in everyone.context["tiles"]}["mrr"] == "$1,000"
    one = csm_client.get(reverse("revenue"), {**params, "csm": other_csm.email})
    assert one.context["form"].scope_label == "Olive Othercsm's book"
    assert {t["key"]: t["value"] for t in one.context["tiles"]}["mrr"] == "$900"


def test_manager_revenue_lists_keep_to_their_teams(manager_client, csm, other_csm):
    ledger([(CustomerFactory(name="Ours", csm=csm), "2024-01-01", 100)])
    ledger([(CustomerFactory(name="Other Team Co", csm=other_csm), "2024-01-01", 900)])
    page = manager_client.get(reverse("revenue"), {"period": "month", "date": "2024-03-20"})
    assert page.context["form"].scope_label == "Your teams"
    assert "whose=mine" in page.context["query"]  # the tiles' links keep the scope
    listed = manager_client.get(reverse("revenue_customers") + "?" + page.context["query"] + "&metric=end")
    assert "Ours" in listed.content.decode()
    assert "Other Team Co" not in listed.content.decode()


def test_admin_revenue_covers_everyone_without_a_scope_choice(admin_client, csm):
    response = admin_client.get(reverse("revenue"))
    assert response.context["form"].scope_label == "All customers"
    assert 'name="whose"' not in response.content.decode()


def test_revenue_default_period_is_the_last_complete_month(csm_client):
    today = timezone.localdate()
    last_day = today.replace(day=1) - dt.timedelta(days=1)
    form = csm_client.get(reverse("revenue")).context["form"]
    assert (form.cleaned_data["start"], form.cleaned_data["end"]) == (last_day.replace(day=1), last_day)
    assert form.period_words == last_day.strftime("%B %Y")


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2024-03-01", "2024-03-31", "March 2024"),
        ("2024-04-01", "2024-06-30", "Q2 2024"),
        ("2024-01-01", "2024-12-31", "2024"),
        ("2024-12-01", "2024-12-07", "December 2024 to date (Dec 1 \u2013 Dec 7, 7 days)"),
        ("2024-03-03", "2024-04-09", "Mar 3 \u2013 Apr 9, 2024 (38 days)"),
        ("2023-12-30", "2024-01-02", "Dec 30, 2023 \u2013 Jan 2, 2024 (4 days)"),
    ],
)
def test_period_words(start, end, words):
    assert period_words(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == words


def test_every_revenue_rate_names_its_period(csm_client, cohort):
    response = csm_client.get(reverse("revenue"), {"period": "month", "date": "2024-03-20"})
    tiles = {t["key"]: t for t in response.context["tiles"]}
    for key in ("nrr", "grr", "churn", "quick_ratio", "clv", "expansion"):
        assert tiles[key]["period"] == "March 2024"
    assert tiles["mrr"]["period"] == "on Mar 31, 2024"
    body = response.content.decode()
    assert body.count('<div class="tile__period">March 2024</div>') == 6
    assert '<span id="revenue-period">March 2024</span>' in body


def test_customer_list_export_button_says_export(manager_client, cohort):
    response = manager_client.get(
        reverse("revenue_customers"), {"start": "2024-03-01", "end": "2024-03-31", "metric": "end"}
    )
    body = response.content.decode()
    assert "Paying at the end (E)" in body  # the page's own label, in its title
    button = body[body.index('class="btn btn--sm btn--ghost export-link"') :]
    button = button[: button.index("</a>")]
    assert "</svg>Export CSV<span" in button  # the caption stays for screen readers only


def test_an_unknown_revenue_scope_is_a_400_not_a_500(csm_client):
    response = csm_client.get(reverse("revenue"), {"whose": "everyone-else"})
    assert response.status_code == 400
    assert csm_client.get(reverse("revenue_customers"), {"whose": "x", "metric": "end"}).status_code == 400
