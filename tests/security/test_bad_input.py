"""Every input outside its domain is a 400 naming the field, never a 500, and nothing is written
(docs/api.md#bad-input). One test per finding of the security audit (issue #16), each failing before."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Customer, Pulse, Touchpoint
from metrics.models import Ticket, UsageEvent
from tests.conftest import client_for
from tests.factories import PlaybookFactory

pytestmark = pytest.mark.django_db


def post_json(client: Client, url: str, data) -> object:
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(url, body, content_type="application/json")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


JSON_ENDPOINTS = [
    "/api/v1/customers/",
    "/api/v1/contacts/",
    "/api/v1/mrr/",
    "/api/v1/usage-events/",
    "/api/v1/tickets/",
    "/api/v1/renewals/",
    "/api/v1/survey-responses/",
    "/api/v1/touchpoints/",
    "/api/v1/pulses/",
    "/api/v1/playbook-runs/",
    "/api/v1/survey-campaigns/",
    "/api/v1/key-features/",
    "/api/v1/health/recompute/",
]


# --- The JSON body ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", JSON_ENDPOINTS)
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(admin_client, url):
    response = post_json(admin_client, url, nested(100_000))
    assert response.status_code == 400
    assert "nested deeper" in response.content.decode()


def test_nesting_past_the_limit_is_named_even_when_json_can_read_it(admin_client):
    response = post_json(admin_client, "/api/v1/customers/", nested(40))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 0, "field": "body", "message": "JSON nested deeper than 32 levels."}
    ]
    # Outside ingestion, DRF's usual shape.
    response = post_json(admin_client, "/api/v1/survey-campaigns/", nested(40))
    assert response.json() == {"body": ["JSON nested deeper than 32 levels."]}


def test_a_duplicated_key_is_refused_not_last_wins(admin_client):
    body = '{"external_id": "DUP-1", "name": "First", "name": "Second"}'
    response = post_json(admin_client, "/api/v1/customers/", body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 0, "field": "name", "message": "This key is given twice in one object."}
    ]
    assert not Customer.objects.filter(external_id="DUP-1").exists()


def test_a_body_over_the_limit_is_a_413(admin_client, settings):
    settings.CSHUB_MAX_BODY_BYTES = 1000
    rows = [{"external_id": f"BIG-{i}", "name": "x" * 50} for i in range(40)]
    response = post_json(admin_client, "/api/v1/customers/", rows)
    assert response.status_code == 413
    assert not Customer.objects.exists()


def test_anonymous_login_post_is_capped_small(anonymous):
    response = anonymous.post("/login/", {"username": "a@example.com", "password": "x" * 200_000})
    assert response.status_code == 413


def test_signed_in_form_posts_keep_the_larger_limit(csm_client, customer):
    url = f"/customers/{customer.external_id}/pulses/"
    response = csm_client.post(url, {"score": "4", "note": "ok " * 30_000})
    assert response.status_code != 413  # a too-long note is the form's error, not the body cap


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/v1/touchpoints/", {"customer": "NW-1\u0000", "kind": "call", "summary": "x"}, "customer"),
        ("/api/v1/pulses/", {"customer": "NW-1\u0000", "score": 3}, "customer"),
        ("/api/v1/pulses/", {"customer": "NW-1", "score": 3, "note": "a\u0000b"}, "note"),
        ("/api/v1/customers/", {"external_id": "X-1", "name": "\ud800"}, "name"),
        ("/api/v1/customers/", {"external_id": "X-1", "name": "A", "csm_email": "\u001e"}, "csm_email"),
    ],
)
def test_nul_control_characters_and_lone_surrogates_are_named(admin_client, customer, url, payload, field):
    payload = {"occurred_at": timezone.now().isoformat(), **payload}
    response = post_json(admin_client, url, payload)
    assert response.status_code == 400
    assert field in response.content.decode()
    assert not Touchpoint.objects.exists()
    assert not Pulse.objects.exists()
    assert not Customer.objects.filter(external_id="X-1").exists()


def test_csm_email_control_character_does_not_clear_the_csm(admin_client, customer, csm):
    response = post_json(
        admin_client, "/api/v1/customers/", {"external_id": "NW-1", "name": "N", "csm_email": "\u001e"}
    )
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.csm == csm


def test_text_is_nfc_normalised(admin_client):
    decomposed = "Cafe\u0301"  # "Café" as e + combining acute
    response = post_json(admin_client, "/api/v1/customers/", {"external_id": "NFC-1", "name": decomposed})
    assert response.status_code == 200
    assert Customer.objects.get(external_id="NFC-1").name == "Caf\u00e9"


def test_a_number_is_not_a_name(admin_client):
    response = post_json(admin_client, "/api/v1/customers/", {"external_id": "NUM-1", "name": 123})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"row": 0, "field": "name", "message": "Send a string."}]


# --- Text limits: the forms' --------------------------------------------------------------------------------


def test_touchpoint_summary_has_the_forms_limit_in_the_api(csm_client, customer):
    payload = {"customer": "NW-1", "kind": "call", "occurred_at": timezone.now().isoformat()}
    too_long = post_json(csm_client, "/api/v1/touchpoints/", {**payload, "summary": "x" * 5001})
    assert too_long.status_code == 400
    assert "summary" in too_long.json()
    assert (
        post_json(csm_client, "/api/v1/touchpoints/", {**payload, "summary": "x" * 5000}).status_code == 201
    )


def test_pulse_note_has_the_forms_limit_in_the_api(csm_client, customer):
    response = post_json(csm_client, "/api/v1/pulses/", {"customer": "NW-1", "score": 3, "note": "x" * 2001})
    assert response.status_code == 400
    assert "note" in response.json()


# --- Digits and dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "99999999999999999999999"])
def test_playbook_given_as_odd_digits_is_a_400(manager_client, customer, value):
    PlaybookFactory(name="Rescue")
    response = post_json(manager_client, "/api/v1/playbook-runs/", {"playbook": value, "customer": "NW-1"})
    assert response.status_code == 400
    assert "playbook" in response.json()


def test_non_ascii_digits_in_numbers_are_refused(admin_client, customer):
    response = post_json(
        admin_client,
        "/api/v1/mrr/",
        {"customer": "NW-1", "effective_date": "2026-01-01", "mrr": "\u0661\u0660\u0660"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "mrr"


@pytest.mark.parametrize(
    "day", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01", "\uff12\uff10\uff12\uff16-01-01"]
)
def test_dates_outside_1900_2100_are_refused_on_ingestion(admin_client, day):
    response = post_json(
        admin_client, "/api/v1/customers/", {"external_id": "D-1", "name": "D", "renewal_date": day}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "renewal_date"
    assert not Customer.objects.exists()


def test_usage_events_outside_the_range_are_refused(admin_client, customer):
    event = {"event_id": "e1", "customer": "NW-1", "user_id": "u", "feature": "f"}
    response = post_json(
        admin_client, "/api/v1/usage-events/", {**event, "occurred_at": "0001-01-01T00:00:00"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "occurred_at"
    nul = post_json(admin_client, "/api/v1/usage-events/", {**event, "occurred_at": "2026-01-01T00:00:00"})
    assert nul.status_code == 200  # the well-formed one still goes through the fast path
    assert UsageEvent.objects.count() == 1


def test_tickets_dated_in_the_future_are_refused(admin_client, customer):
    later = (timezone.now() + dt.timedelta(days=30)).isoformat()
    response = post_json(
        admin_client,
        "/api/v1/tickets/",
        {"external_id": "T-1", "customer": "NW-1", "opened_at": later, "priority": "low"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "opened_at"
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/metrics/surveys/?kind=nps&start=0001-01-01&end=2026-01-01",
        "/api/v1/metrics/surveys/?kind=nps&start=2026-01-01&end=9999-12-31",
        "/api/v1/metrics/support/?start=0001-01-01&end=2026-01-31",
        "/api/v1/metrics/support/?start=2026-01-01&end=9999-12-31",
        "/api/v1/metrics/team/?start=0001-01-01&end=2026-01-31",
        "/api/v1/metrics/team/?start=2026-01-01&end=9999-12-31",
        "/api/v1/metrics/engagement/?customer=NW-1&as_of=0001-01-01",
        "/api/v1/metrics/engagement/?customer=NW-1&as_of=9999-12-31",
        "/api/v1/metrics/revenue/?start=0001-01-01&end=2026-01-31",
        "/api/v1/metrics/renewals/?start=2026-01-01&end=9999-12-31",
    ],
)
def test_metric_apis_answer_calendar_edges_with_a_400(admin_client, customer, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert set(response.json()) & {"start", "end", "as_of"}


@pytest.mark.parametrize(
    "url",
    [
        "/revenue/?date=9999-12-31",
        "/revenue/?period=custom&start=9999-12-01&end=9999-12-31",
        "/revenue/?period=custom&start=0001-01-01&end=2026-01-01",
    ],
)
def test_pages_answer_calendar_edges_with_a_400(admin_client, url):
    assert admin_client.get(url).status_code == 400


@pytest.mark.parametrize("period", ["9999-Q4", "0001", "\u0662\u0660\u0662\u0666-Q1"])
def test_team_page_shows_the_current_quarter_for_a_period_past_the_calendar(admin_client, period):
    # The page offers its periods in a list; one it does not offer falls back (tests/dashboard), never a 500.
    response = admin_client.get("/team/", {"period": period})
    assert response.status_code == 200


# --- Query parameters ---------------------------------------------------------------------------------------


def test_nul_in_a_query_parameter_is_a_400_naming_it(csm_client):
    response = csm_client.get("/api/v1/playbook-runs/?customer=%00")
    assert response.status_code == 400
    assert response.json() == {
        "customer": ["Remove the control characters (NUL and the like) from this text."]
    }
    assert csm_client.get("/book/?q=%00").status_code == 400


def test_timeline_cursor_and_kind_that_are_not_the_pages_own_are_a_400(csm_client, customer):
    url = f"/customers/{customer.external_id}/timeline/"
    for before in (
        "abc",
        "2026-01-01T00:00:00Z~touchpoint~9223372036854775807000",
        "x~note~1",
        "2026-01-01~x~1",
    ):
        response = csm_client.get(url, {"before": before})
        assert response.status_code == 400, before
        assert "before" in response.content.decode()
    assert csm_client.get(url, {"kind": "nonsense"}).status_code == 400
    assert csm_client.get(customer.get_absolute_url(), {"before": "abc"}).status_code == 400
    assert csm_client.get(url, {"before": "2026-01-01T00:00:00.000000Z~note~5"}).status_code == 200
    assert csm_client.get(url, {"kind": "note"}).status_code == 200


@pytest.fixture
def superuser_client(admin_user) -> Client:
    admin_user.is_superuser = True
    admin_user.save()
    return client_for(admin_user)


@pytest.mark.parametrize("query", ["q=e%00", "q=%ED%A0%80", "event_id=%00", "q=%F0%9F"])
def test_admin_usage_event_search_with_nul_or_broken_utf8_does_not_500(superuser_client, customer, query):
    response = superuser_client.get(f"/admin/metrics/usageevent/?{query}")
    assert response.status_code in (200, 302, 400)
    if "%00" in query:
        assert response.status_code == 400


# --- Pages -------------------------------------------------------------------------------------------------


def test_htmx_complete_of_someone_elses_task_is_a_403_not_their_row(other_csm_client, customer, csm):
    from tests.factories import RunFactory, TaskFactory

    task = TaskFactory(
        run=RunFactory(customer=customer, assignee=csm), assignee=csm, title="Call the sponsor"
    )
    response = other_csm_client.post(
        f"/tasks/{task.pk}/complete/", {"note": "x" * 5000}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    assert "Call the sponsor" not in response.content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "http:evil.example"])
def test_task_next_never_leaves_the_site(csm_client, customer, csm, target):
    from tests.factories import RunFactory, TaskFactory

    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm), assignee=csm)
    response = csm_client.post(f"/tasks/{task.pk}/skip/", {"note": "", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"


def test_task_next_on_the_site_is_kept(csm_client, customer, csm):
    from tests.factories import RunFactory, TaskFactory

    task = TaskFactory(run=RunFactory(customer=customer, assignee=csm), assignee=csm)
    response = csm_client.post(f"/tasks/{task.pk}/skip/", {"note": "", "next": "/book/?q=a"})
    assert response["Location"] == "/book/?q=a"


def test_survey_question_with_a_newline_is_refused_by_the_api(manager_client, customer):
    response = post_json(
        manager_client,
        "/api/v1/survey-campaigns/",
        {"kind": "nps", "customers": ["NW-1"], "question": "Line one\nBcc: everyone@example.com"},
    )
    assert response.status_code == 400
    assert "question" in response.json()


def test_a_csv_is_not_capped_at_the_api_batch_size_but_bad_rows_still_write_nothing():
    # docs/operations.md#failure-rules: the CSV import streams (200,000-row files), unlike one API request
    # (10,000 rows); a bad row anywhere still writes nothing.
    import io

    from integrations.csv_import import csv_import

    lines = "".join(f"C-{i},Customer {i}\n" for i in range(10_001))
    assert csv_import(kind="customers", file=io.StringIO("external_id,name\n" + lines)).ok
    assert Customer.objects.count() == 10_001
    bad = "".join(f"D-{i},Customer {i}\n" for i in range(10_001)) + "D/BAD,Slash\n"
    result = csv_import(kind="customers", file=io.StringIO("external_id,name\n" + bad))
    assert not result.ok
    assert not Customer.objects.filter(external_id__startswith="D-").exists()


def test_a_refused_string_deep_in_a_list_names_its_row_and_field(admin_client):
    rows = [{"external_id": "OK-1", "name": "Fine"}, {"external_id": "OK-2", "name": "Bad\u0000"}]
    response = post_json(admin_client, "/api/v1/customers/", rows)
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "name")]
    assert not Customer.objects.exists()
