"""The renewals forecast API and HTML forms (docs/renewals.md, docs/api.md#renewals-forecast): PATCH with its
400s and the §3 matrix, outcomes entered in the app (with the MRR ledger, audit, dirty mark and GRR), and
`GET /api/v1/metrics/renewals/forecast/` with exactly its fields and bounded queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEntry, DirtyCustomer
from metrics.forecast.quarters import quarter_of
from metrics.models import MrrEntry, Renewal
from metrics.renewals import renewal_metrics
from metrics.revenue import revenue_metrics
from metrics.scope import Scope
from tests.conftest import client_for
from tests.factories import CustomerFactory
from tests.metrics.conftest import ledger

D = Decimal


def patch(client, pk, body):
    return client.patch(f"/api/v1/renewals/{pk}/", body, content_type="application/json")


@pytest.fixture
def due():
    return timezone.localdate() + dt.timedelta(days=20)


@pytest.fixture
def renewal(customer, due):
    return Renewal.objects.create(customer=customer, due_date=due, arr_due=D("12000.00"))


@pytest.fixture
def other_renewal(other_customer, due):
    return Renewal.objects.create(customer=other_customer, due_date=due, arr_due=D("6000.00"))


# --- PATCH -------------------------------------------------------------------------------------------------


def test_csm_sets_category_expected_and_note(csm_client, renewal):
    r = patch(csm_client, renewal.pk, {"category": "likely", "note": "Champion left"})
    assert r.status_code == 200, r.content
    assert r.json() == {
        "id": renewal.pk,
        "customer": "NW-1",
        "due_date": renewal.due_date.isoformat(),
        "arr_due": "12000.00",
        "category": "likely",
        "expected_arr": "12000.00",
        "expected_arr_overridden": False,
        "note": "Champion left",
        "outcome": "pending",
        "renewed_arr": None,
    }
    r = patch(csm_client, renewal.pk, {"expected_arr": "9000.5"})
    assert r.json()["expected_arr"] == "9000.50"
    assert r.json()["expected_arr_overridden"] is True
    r = patch(csm_client, renewal.pk, {"category": "at_risk", "expected_arr": None})
    assert r.json()["expected_arr"] == "6000.00"  # x the fallback rate 0.5: no at-risk history
    r = patch(csm_client, renewal.pk, {"category": "lost"})
    assert r.json()["expected_arr"] == "0.00"
    r = patch(csm_client, renewal.pk, {"category": None})
    assert (r.json()["category"], r.json()["expected_arr"]) == ("", None)
    entries = AuditEntry.objects.filter(object_type="renewal", object_id=str(renewal.pk))
    assert entries.count() == 5
    assert all(e.customer_id == renewal.customer_id and e.actor is not None for e in entries)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "maybe"}, "category"),
        ({"category": "commit", "expected_arr": "-1"}, "expected_arr"),
        ({"category": "commit", "expected_arr": "1.234"}, "expected_arr"),
        ({"category": "commit", "expected_arr": "abc"}, "expected_arr"),
        ({"category": "commit", "expected_arr": "1e20"}, "expected_arr"),
        ({"expected_arr": "100"}, "expected_arr"),  # no category yet
        ({"category": "commit", "note": "x" * 501}, "note"),
        ({"category": "commit", "note": "bad\x00text"}, "note"),
    ],
)
def test_bad_patch_is_a_400_naming_the_field_and_writes_nothing(csm_client, renewal, body, field):
    r = patch(csm_client, renewal.pk, body)
    assert r.status_code == 400, r.content
    assert field in r.json()
    renewal.refresh_from_db()
    assert (renewal.category, renewal.expected_arr_override, renewal.forecast_note) == ("", None, "")
    assert not AuditEntry.objects.filter(object_type="renewal").exists()


def test_closed_renewal_keeps_its_forecast(csm_client, renewal):
    Renewal.objects.filter(pk=renewal.pk).update(outcome="renewed", category="commit")
    r = patch(csm_client, renewal.pk, {"category": "lost"})
    assert r.status_code == 400
    assert "category" in r.json()
    assert patch(csm_client, renewal.pk, {"note": "Renewed on time"}).status_code == 200


def test_unknown_renewal_is_a_404(csm_client, db):
    assert patch(csm_client, 999999, {"category": "commit"}).status_code == 404


@pytest.mark.parametrize(
    ("who", "own", "status"),
    [
        ("csm", True, 200),
        ("csm", False, 403),
        ("manager", True, 200),  # csm is in the manager's team
        ("manager", False, 403),
        ("admin_user", True, 200),
        ("admin_user", False, 200),
    ],
)
def test_patch_follows_the_roles_matrix(request, who, own, status, renewal, other_renewal):
    client = client_for(request.getfixturevalue(who))
    target = renewal if own else other_renewal
    assert patch(client, target.pk, {"category": "commit"}).status_code == status
    target.refresh_from_db()
    assert target.category == ("commit" if status == 200 else "")


def test_anonymous_cannot_patch(anonymous, renewal):
    assert patch(anonymous, renewal.pk, {"category": "commit"}).status_code in (401, 403)


# --- HTML forms ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "own", "allowed"),
    [
        ("csm", True, True),
        ("csm", False, False),
        ("manager", True, True),
        ("manager", False, False),
        ("admin_user", False, True),
    ],
)
def test_html_forecast_and_outcome_follow_the_roles_matrix(
    request, who, own, allowed, renewal, other_renewal
):
    client = client_for(request.getfixturevalue(who))
    target = renewal if own else other_renewal
    r = client.post(f"/renewals/{target.pk}/forecast/", {"category": "commit", "note": ""})
    assert r.status_code == (302 if allowed else 403)
    r = client.post(f"/renewals/{target.pk}/outcome/", {"result": "churned"})
    assert r.status_code == (302 if allowed else 403)
    target.refresh_from_db()
    assert (target.category, target.outcome) == (("commit", "churned") if allowed else ("", "pending"))


def test_html_bad_input_rerenders_with_field_errors(csm_client, renewal):
    r = csm_client.post(f"/renewals/{renewal.pk}/forecast/", {"category": "", "expected_arr": "500"})
    assert r.status_code == 400
    assert b"Choose a category first" in r.content
    r = csm_client.post(f"/renewals/{renewal.pk}/outcome/", {"result": "downgraded", "arr": "12000"})
    assert r.status_code == 400
    assert b"below the ARR due" in r.content
    r = csm_client.post(f"/renewals/{renewal.pk}/outcome/", {"result": "renewed"})
    assert r.status_code == 400
    renewal.refresh_from_db()
    assert renewal.outcome == "pending"


def test_customer_page_card_shows_the_forecast_form_to_who_may_change_it(
    csm_client, other_csm_client, renewal
):
    page = csm_client.get("/customers/NW-1/")
    assert page.status_code == 200
    assert f'action="/renewals/{renewal.pk}/forecast/"'.encode() in page.content
    other = other_csm_client.get("/customers/NW-1/")
    assert f'action="/renewals/{renewal.pk}/forecast/"'.encode() not in other.content
    assert csm_client.get(f"/renewals/{renewal.pk}/").status_code == 200


# --- Outcomes and the ledger --------------------------------------------------------------------------------


def test_downgrade_entered_in_the_app_writes_the_ledger_and_moves_grr(csm_client, customer, renewal):
    start = renewal.due_date - dt.timedelta(days=60)
    ledger([(customer, start.isoformat(), "1000.00")])
    DirtyCustomer.objects.all().delete()
    r = csm_client.post(
        f"/renewals/{renewal.pk}/outcome/",
        {"result": "downgraded", "arr": "9000", "write_ledger": "on"},
    )
    assert r.status_code == 302
    entry = MrrEntry.objects.get(customer=customer, effective_date=renewal.due_date)
    assert entry.mrr == D("750.00")  # 9,000 ÷ 12
    assert entry.prev_mrr == D("1000.00")  # linked by the ledger service
    assert DirtyCustomer.objects.filter(customer=customer).exists()
    audit = AuditEntry.objects.filter(customer=customer).values_list("object_type", flat=True)
    assert sorted(audit) == ["mrrentry", "renewal"]
    m = renewal_metrics(scope=Scope(), start=renewal.due_date, end=renewal.due_date)
    assert m.gross_renewal_rate == D("0.75")
    rev = revenue_metrics(scope=Scope(), start=start + dt.timedelta(days=1), end=renewal.due_date)
    assert rev.grr == D("0.75")


def test_churn_sets_mrr_to_zero_and_renewal_at_same_mrr_writes_nothing(csm_client, customer, due):
    ledger([(customer, (due - dt.timedelta(days=30)).isoformat(), "1000.00")])
    flat = Renewal.objects.create(customer=customer, due_date=due, arr_due=D("12000"))
    r = csm_client.post(
        f"/renewals/{flat.pk}/outcome/", {"result": "renewed", "arr": "12000", "write_ledger": "on"}
    )
    assert r.status_code == 302
    assert MrrEntry.objects.filter(customer=customer).count() == 1  # the MRR did not change
    later = Renewal.objects.create(
        customer=customer, due_date=due + dt.timedelta(days=365), arr_due=D("12000")
    )
    csm_client.post(f"/renewals/{later.pk}/outcome/", {"result": "churned", "write_ledger": "on"})
    assert MrrEntry.objects.get(customer=customer, effective_date=later.due_date).mrr == D("0.00")


def test_outcome_without_ledger_confirmation_leaves_the_ledger(csm_client, customer, renewal):
    csm_client.post(f"/renewals/{renewal.pk}/outcome/", {"result": "renewed", "arr": "15000"})
    renewal.refresh_from_db()
    assert (renewal.outcome, renewal.renewed_arr) == ("renewed", D("15000.00"))
    assert not MrrEntry.objects.filter(customer=customer).exists()


# --- GET forecast -------------------------------------------------------------------------------------------

FIELDS = {
    "arr_due",
    "commit_arr",
    "likely_arr",
    "at_risk_arr",
    "lost_arr",
    "uncategorized_arr",
    "expected_arr",
    "renewed_arr",
    "churned_arr",
    "open_arr",
    "renewals",
}


def _url(due, **extra):
    q = quarter_of(due)
    params = "&".join(f"{k}={v}" for k, v in {"quarter": q.key, **extra}.items())
    return f"/api/v1/metrics/renewals/forecast/?{params}"


def test_forecast_answers_exactly_the_fields(manager_client, csm, renewal, other_renewal, due):
    patch(manager_client, renewal.pk, {"category": "commit"})
    body = manager_client.get(_url(due)).json()
    assert set(body) == FIELDS
    assert body["arr_due"] == "12000.00"  # other_renewal is outside the manager's teams
    assert body["commit_arr"] == body["expected_arr"] == "12000.00"
    assert body["renewals"] == [
        {
            "customer": "NW-1",
            "due_date": due.isoformat(),
            "arr_due": "12000.00",
            "category": "commit",
            "expected_arr": "12000.00",
            "outcome": "pending",
        }
    ]
    assert set(body["renewals"][0]) == {
        "customer",
        "due_date",
        "arr_due",
        "category",
        "expected_arr",
        "outcome",
    }


def test_forecast_scope_and_csm_filter(admin_client, csm_client, manager_client, renewal, other_renewal, due):
    assert admin_client.get(_url(due)).json()["arr_due"] == "18000.00"
    assert admin_client.get(_url(due, csm="other.csm@example.com")).json()["arr_due"] == "6000.00"
    assert csm_client.get(_url(due)).json()["arr_due"] == "12000.00"
    assert csm_client.get(_url(due, csm="other.csm@example.com")).status_code == 403
    assert manager_client.get(_url(due, csm="other.csm@example.com")).status_code == 403


@pytest.mark.parametrize("quarter", ["", "2027-Q5", "2027", "٢٠٢٧-Q1", "2100-Q1", "x" * 50])
def test_forecast_bad_quarter_is_a_400(admin_client, quarter):
    r = admin_client.get(f"/api/v1/metrics/renewals/forecast/?quarter={quarter}")
    assert r.status_code == 400
    assert "quarter" in r.json()


def test_forecast_unknown_csm_is_a_400(admin_client, db):
    r = admin_client.get("/api/v1/metrics/renewals/forecast/?quarter=2027-Q1&csm=nobody@example.com")
    assert r.status_code == 400
    assert "csm" in r.json()


def test_forecast_anonymous_is_refused(anonymous, db):
    assert anonymous.get("/api/v1/metrics/renewals/forecast/?quarter=2027-Q1").status_code in (401, 403)


@pytest.mark.parametrize("n", [3, 30])
def test_forecast_queries_do_not_grow_with_renewals(admin_client, csm, due, n, django_assert_max_num_queries):
    for i in range(n):
        c = CustomerFactory(csm=csm)
        Renewal.objects.create(
            customer=c, due_date=due, arr_due=D(1000 + i), category="commit" if i % 2 else ""
        )
    with django_assert_max_num_queries(6):
        body = admin_client.get(_url(due)).json()
    assert len(body["renewals"]) == n


def test_renewal_page_is_read_only_for_who_may_not_change_it(other_csm_client, csm_client, renewal):
    page = other_csm_client.get(f"/renewals/{renewal.pk}/")
    assert page.status_code == 200
    assert b'id="forecast-form"' not in page.content
    assert b'id="outcome-form"' not in page.content
    own = csm_client.get(f"/renewals/{renewal.pk}/")
    assert b'id="forecast-form"' in own.content
    assert b'id="outcome-form"' in own.content


def test_renewals_list_offers_the_row_form_only_on_editable_rows(
    admin_client, other_csm_client, renewal, due
):
    q = quarter_of(due).key
    admin = admin_client.get(f"/renewals/list/?quarter={q}")
    assert f'action="/renewals/{renewal.pk}/forecast/"'.encode() in admin.content
    # other_csm sees only their own book (no renewal here), and a direct post is refused.
    assert other_csm_client.post(f"/renewals/{renewal.pk}/forecast/", {"category": "lost"}).status_code == 403
