"""The customer timeline (docs/workspace.md#timeline): every kind in one stream, filters, keyset pages, one
query per page; the API's shape; the audit panel."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import audit, services
from core import timeline
from metrics.health.services import health_model_current
from metrics.models.health import HealthSnapshot
from playbooks.services.work import task_complete
from tests.factories import (
    ContactFactory,
    NoteFactory,
    PlaybookFactory,
    PulseFactory,
    RenewalFactory,
    ResponseFactory,
    RunFactory,
    TaskFactory,
    TicketFactory,
    TouchpointFactory,
    ledger,
)

pytestmark = pytest.mark.django_db


def api_url(customer, **params) -> str:
    return reverse("api_customer_timeline", args=[customer.external_id])


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


@pytest.fixture
def full_history(customer, csm, manager):
    """One of every kind, a day apart: the newest is the field change of today."""
    TouchpointFactory(customer=customer, author=csm, summary="Kick-off call", occurred_at=days_ago(10))
    PulseFactory(customer=customer, author=csm, score=2, note="Sponsor is unhappy", created_at=days_ago(9))
    NoteFactory(customer=customer, author=csm, text="Budget freeze until Q2", created_at=days_ago(8))
    ResponseFactory(contact__customer=customer, score=3, comment="Too slow", answered_at=days_ago(7))
    TicketFactory(customer=customer, external_id="Z-77", priority="high", opened_at=days_ago(6))
    run = RunFactory(customer=customer, playbook=PlaybookFactory(name="Rescue"), started_at=days_ago(5))
    task = TaskFactory(run=run, title="Call the sponsor", assignee=csm)
    task_complete(user=csm, task=task, note="Done by phone")
    ledger(customer, (30, "1000"), (4, "1500"))
    model = health_model_current()
    for n, band in [(5, "green"), (4, "green"), (3, "red")]:
        HealthSnapshot.objects.create(
            customer=customer,
            date=timezone.localdate() - dt.timedelta(days=n),
            score=30,
            band=band,
            model=model,
        )
    RenewalFactory(
        customer=customer,
        due_date=timezone.localdate() - dt.timedelta(days=2),
        outcome="renewed",
        arr_due=12000,
        renewed_arr=15000,
    )
    RenewalFactory(customer=customer, due_date=timezone.localdate() + dt.timedelta(days=60))  # not yet due
    before = audit.snapshot(customer, ["csm"])
    customer.csm = manager
    customer.save()
    audit.record_update(actor=csm, obj=customer, before=before, fields=["csm"], customer=customer)
    return customer


def test_api_answers_every_kind_newest_first(csm_client, full_history):
    response = csm_client.get(api_url(full_history))
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    kinds = [r["kind"] for r in body["results"]]
    assert set(kinds) == set(timeline.KINDS)
    ats = [r["at"] for r in body["results"]]
    assert ats == sorted(ats, reverse=True)
    by_kind = {r["kind"]: r for r in body["results"]}
    assert by_kind["touchpoint"]["detail"] == "Kick-off call"
    assert by_kind["touchpoint"]["actor"] == "Casey Csm"
    assert by_kind["pulse"]["title"] == "Pulse 2/5"
    assert by_kind["note"]["detail"] == "Budget freeze until Q2"
    assert by_kind["survey_response"]["title"] == "NPS answer: 3"
    assert by_kind["survey_response"]["detail"] == "Too slow"
    assert by_kind["ticket"]["title"] == "Ticket opened (high priority)"
    assert by_kind["playbook_run"]["title"] == "Playbook started: Rescue"
    assert by_kind["task"]["title"] == "Task done: Call the sponsor"
    assert by_kind["task"]["actor"] == "Casey Csm"
    mrr = [r for r in body["results"] if r["kind"] == "mrr_change"]
    assert [r["title"] for r in mrr] == ["Expansion MRR", "New MRR"]
    assert mrr[0]["detail"] == "$1,000.00 → $1,500.00 a month"
    bands = [r for r in body["results"] if r["kind"] == "health_band"]
    assert [r["title"] for r in bands] == [
        "Health turned red",
        "Health turned green",
    ]  # no entry for green→green
    assert by_kind["renewal"]["title"] == "Renewal due: renewed"
    assert len([r for r in body["results"] if r["kind"] == "renewal"]) == 1  # the one ahead is not history
    assert by_kind["field_change"]["title"] == "Customer changed"
    assert by_kind["field_change"]["detail"] == "CSM: Casey Csm → Maria Manager"
    assert by_kind["field_change"]["actor"] == "Casey Csm"
    assert body["results"][0]["kind"] == "field_change"


def test_api_filters_by_kind(csm_client, full_history):
    body = csm_client.get(api_url(full_history), {"kind": "note,pulse"}).json()
    assert [r["kind"] for r in body["results"]] == ["note", "pulse"]
    body = csm_client.get(api_url(full_history), {"kind": ["ticket", "task"]}).json()
    assert [r["kind"] for r in body["results"]] == ["task", "ticket"]


def test_api_pages_by_keyset_without_gaps_or_repeats(csm_client, customer, csm):
    same_moment = days_ago(1)
    for i in range(30):  # ties on `at` across kinds and within a kind
        TouchpointFactory(customer=customer, author=csm, summary=f"tp-{i}", occurred_at=same_moment)
    for i in range(20):
        NoteFactory(customer=customer, author=csm, text=f"note-{i}", created_at=days_ago(i % 3))
    seen, url, pages = [], api_url(customer), 0
    while url:
        body = csm_client.get(url).json()
        seen += [r["detail"] for r in body["results"]]
        url, pages = body["next"], pages + 1
        if url:
            assert parse_qs(urlparse(url).query)["before"]
    assert pages == 2
    assert len(seen) == 50
    assert len(set(seen)) == 50


def test_a_page_is_one_query_whatever_the_data_and_the_kinds(csm_client, full_history, csm):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert csm_client.get(api_url(full_history)).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(60):
        TouchpointFactory(customer=full_history, author=csm, summary=f"more {i}")
        NoteFactory(customer=full_history, author=csm)
    assert count() == small
    with CaptureQueriesContext(connection) as ctx:
        page = timeline.timeline_page(full_history.pk)
    assert len(ctx.captured_queries) == 1
    assert len(page.entries) == timeline.PAGE_SIZE


def test_customer_page_query_count_is_constant_with_every_kind(
    manager_client, full_history, csm, django_assert_max_num_queries
):
    url = full_history.get_absolute_url()
    with CaptureQueriesContext(connection) as ctx:
        manager_client.get(url)
    small = len(ctx.captured_queries)
    for _ in range(40):
        TouchpointFactory(customer=full_history, author=csm)
        NoteFactory(customer=full_history, author=csm)
        services.note_update(user=csm, note=NoteFactory(customer=full_history, author=csm), text="changed")
    with django_assert_max_num_queries(small):
        response = manager_client.get(url)
    assert len(response.context["timeline"].items) == timeline.PAGE_SIZE


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "nonsense"}, "kind"),
        ({"before": "abc"}, "before"),
        ({"before": "2026-01-01T00:00:00~note~1"}, "before"),  # no offset: not one of ours
        ({"before": "2026-01-01T00:00:00.000000Z~note~99999999999999999999"}, "before"),
    ],
)
def test_api_bad_kind_or_cursor_is_a_400_naming_it(csm_client, customer, params, field):
    response = csm_client.get(api_url(customer), params)
    assert response.status_code == 400
    assert field in response.json()


def test_timeline_needs_a_login_and_a_real_customer(anonymous, csm_client, customer):
    assert anonymous.get(api_url(customer)).status_code in (401, 403)
    assert csm_client.get(reverse("api_customer_timeline", args=["NOPE"])).status_code == 404


def test_any_user_reads_any_customers_timeline(other_csm_client, full_history):
    assert other_csm_client.get(api_url(full_history)).status_code == 200


def test_customer_page_filters_the_timeline_by_kind(csm_client, full_history):
    body = csm_client.get(full_history.get_absolute_url(), {"kind": "note"}).content.decode()
    assert "Budget freeze until Q2" in body
    assert "Kick-off call" not in body
    body = csm_client.get(full_history.get_absolute_url()).content.decode()
    assert body.index("Budget freeze until Q2") < body.index("Kick-off call")
    assert "Ticket opened (high priority)" in body


# --- The audit panel ---------------------------------------------------------------------------------


def test_audit_panel_shows_who_when_and_before_after_with_names(other_csm_client, full_history, csm):
    note = NoteFactory(customer=full_history, author=csm, text="Old wording")
    services.note_update(user=csm, note=note, text="New wording")
    body = other_csm_client.get(full_history.get_absolute_url()).content.decode()  # any role reads it
    panel = body[body.index('id="audit-log"') :]
    assert "Note changed" in panel
    assert "Old wording" in panel
    assert "New wording" in panel
    assert panel.index("Old wording") < panel.index("New wording")
    assert "Customer changed" in panel
    assert "Casey Csm" in panel  # the CSM change, by name, not by id
    assert "Maria Manager" in panel


def test_audit_panel_keeps_a_deleted_logs_text(csm_client, customer, csm):
    touchpoint = TouchpointFactory(customer=customer, author=csm, summary="We promised a discount")
    services.touchpoint_delete(user=csm, touchpoint=touchpoint)
    body = csm_client.get(customer.get_absolute_url()).content.decode()
    panel = body[body.index('id="audit-log"') :]
    assert "Touchpoint deleted" in panel
    assert "We promised a discount" in panel
    api = csm_client.get(api_url(customer), {"kind": "field_change"}).json()["results"]
    assert api[0]["title"] == "Touchpoint deleted"
    assert "Summary was We promised a discount" in api[0]["detail"]


def test_audit_panel_is_one_query_for_many_entries(csm_client, customer, csm, django_assert_max_num_queries):
    note = NoteFactory(customer=customer, author=csm)
    services.note_update(user=csm, note=note, text="one")
    with CaptureQueriesContext(connection) as ctx:
        csm_client.get(customer.get_absolute_url())
    small = len(ctx.captured_queries)
    for i in range(30):
        services.note_update(user=csm, note=note, text=f"edit {i}")
    with django_assert_max_num_queries(small):
        csm_client.get(customer.get_absolute_url())


def test_json_changes_survive_the_union(csm_client, customer, csm):
    note = NoteFactory(customer=customer, author=csm, text='He said "no" ü {and} \\ left')
    services.note_update(user=csm, note=note, text="x")
    result = csm_client.get(api_url(customer), {"kind": "field_change"}).json()["results"][0]
    assert result["detail"] == 'Text: He said "no" ü {and} \\ left → x'
    assert json.dumps(result)


def test_customer_page_ids_stay_unique_with_every_kind(csm_client, full_history, csm):
    NoteFactory(customer=full_history, author=csm)
    html = csm_client.get(full_history.get_absolute_url()).content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    assert 'id="timeline-task-' in html


def test_touchpoints_show_their_contacts(csm_client, customer, csm):
    touchpoint = TouchpointFactory(customer=customer, author=csm, summary="Demo for the buyers")
    touchpoint.contacts.add(ContactFactory(customer=customer, name="Dana Buyer"))
    body = csm_client.get(customer.get_absolute_url()).content.decode()
    item = body[body.index(f'id="touchpoint-{touchpoint.pk}"') :]
    assert "Dana Buyer" in item[: item.index("</li>")]
