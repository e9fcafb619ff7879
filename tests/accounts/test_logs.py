"""Notes, and editing/deleting touchpoints, pulses and notes (docs/workspace.md#notes, #editing-logs):
the §3 matrix for HTML and API, the audit entry with the old text, note.created."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from accounts.models import AuditEntry, DirtyCustomer, Note, Pulse, Touchpoint
from core import events
from tests.conftest import client_for
from tests.factories import NoteFactory, PulseFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

FACTORIES = {"touchpoint": TouchpointFactory, "pulse": PulseFactory, "note": NoteFactory}
MODELS = {"touchpoint": Touchpoint, "pulse": Pulse, "note": Note}
TEXT_FIELD = {"touchpoint": "summary", "pulse": "note", "note": "text"}
API = {"touchpoint": "api_touchpoint", "pulse": "api_pulse", "note": "api_note"}


def edit_data(kind: str, log) -> dict:
    if kind == "touchpoint":
        return {
            "kind": "qbr",
            "occurred_at": log.occurred_at.strftime("%Y-%m-%dT%H:%M"),
            "summary": "Rewritten.",
        }
    if kind == "pulse":
        return {"score": "2", "note": "Rewritten."}
    return {"text": "Rewritten."}


def html_edit(client, log, kind):
    url = reverse("log_edit", args=[log.customer.external_id, kind, log.pk])
    return client.post(url, edit_data(kind, log))


def html_delete(client, log, kind):
    return client.post(reverse("log_delete", args=[log.customer.external_id, kind, log.pk]))


def api_edit(client, log, kind):
    body = edit_data(kind, log)
    if kind == "pulse":
        body["score"] = 2
    body.pop("occurred_at", None)
    return client.patch(reverse(API[kind], args=[log.pk]), json.dumps(body), content_type="application/json")


def api_delete(client, log, kind):
    return client.delete(reverse(API[kind], args=[log.pk]))


ACTIONS = {"html_edit": html_edit, "html_delete": html_delete, "api_edit": api_edit, "api_delete": api_delete}
ALLOWED = {"html_edit": 302, "html_delete": 302, "api_edit": 200, "api_delete": 204}

# Logs written by the CSM on their customer: who may change them (§3: own, teams', all).
MATRIX = [
    ("csm", True),  # the author
    ("manager", True),  # manages the author's team
    ("admin_user", True),
    ("other_csm", False),
    ("other_manager", False),  # manages another team
]


@pytest.mark.parametrize("kind", list(FACTORIES))
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_who_may_change_a_log(request, customer, csm, kind, action, persona, allowed):
    log = FACTORIES[kind](customer=customer, author=csm)
    original = getattr(log, TEXT_FIELD[kind])
    client = client_for(request.getfixturevalue(persona))
    response = ACTIONS[action](client, log, kind)
    model = MODELS[kind]
    if allowed:
        assert response.status_code == ALLOWED[action], response.content[:300]
        entry = AuditEntry.objects.get()
        assert entry.customer_id == customer.pk
        assert entry.object_type == kind
        assert entry.object_id == str(log.pk)
        assert entry.changes[TEXT_FIELD[kind]]["before"] == original
        if action.endswith("delete"):
            assert not model.objects.filter(pk=log.pk).exists()
            assert entry.action == "delete"
        else:
            assert getattr(model.objects.get(pk=log.pk), TEXT_FIELD[kind]) == "Rewritten."
            assert entry.changes[TEXT_FIELD[kind]]["after"] == "Rewritten."
    else:
        assert response.status_code == 403
        assert getattr(model.objects.get(pk=log.pk), TEXT_FIELD[kind]) == original
        assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_csm_cannot_change_their_managers_log_but_the_manager_can(customer, csm, manager, kind):
    log = FACTORIES[kind](customer=customer, author=manager)
    assert html_edit(client_for(csm), log, kind).status_code == 403
    assert api_delete(client_for(csm), log, kind).status_code == 403
    assert api_edit(client_for(manager), log, kind).status_code == 200


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_a_log_of_a_deleted_author_is_for_admins_only(customer, manager, admin_user, kind):
    log = FACTORIES[kind](customer=customer, author=None)
    assert api_edit(client_for(manager), log, kind).status_code == 403
    assert api_edit(client_for(admin_user), log, kind).status_code == 200


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_anonymous_cannot_change_logs(anonymous, customer, kind):
    log = FACTORIES[kind](customer=customer)
    assert html_edit(anonymous, log, kind).status_code == 302  # to the login page
    assert api_edit(anonymous, log, kind).status_code in (401, 403)
    assert api_delete(anonymous, log, kind).status_code in (401, 403)
    assert MODELS[kind].objects.filter(pk=log.pk).exists()


def test_a_log_is_changed_only_under_its_own_customer(csm_client, customer, other_customer, csm):
    note = NoteFactory(customer=customer, author=csm)
    url = reverse("log_edit", args=[other_customer.external_id, "note", note.pk])
    assert csm_client.post(url, {"text": "x"}).status_code == 404
    assert Note.objects.get().text == note.text


def test_edit_page_shows_the_form_filled_in(csm_client, customer, csm):
    touchpoint = TouchpointFactory(customer=customer, author=csm, summary="Renewal talk", kind="meeting")
    body = csm_client.get(reverse("log_edit", args=[customer.external_id, "touchpoint", touchpoint.pk]))
    html = body.content.decode()
    assert body.status_code == 200
    assert "Renewal talk" in html
    assert 'value="meeting" selected' in html


def test_invalid_edit_is_a_400_with_the_field_error_and_writes_nothing(csm_client, customer, csm):
    note = NoteFactory(customer=customer, author=csm)
    url = reverse("log_edit", args=[customer.external_id, "note", note.pk])
    response = csm_client.post(url, {"text": "x" * 5001})
    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()
    assert csm_client.post(url, {"text": "   "}).status_code == 400
    assert not AuditEntry.objects.exists()


def test_api_invalid_edit_is_a_400_naming_the_field(csm_client, customer, csm):
    pulse = PulseFactory(customer=customer, author=csm)
    url = reverse("api_pulse", args=[pulse.pk])
    response = csm_client.patch(url, json.dumps({"score": 9}), content_type="application/json")
    assert response.status_code == 400
    assert "score" in response.json()
    touchpoint = TouchpointFactory(customer=customer, author=csm)
    url = reverse("api_touchpoint", args=[touchpoint.pk])
    response = csm_client.patch(
        url, json.dumps({"occurred_at": "2999-01-01T00:00:00Z"}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "occurred_at" in response.json()
    note = NoteFactory(customer=customer, author=csm)
    response = csm_client.patch(reverse("api_note", args=[note.pk]), "{}", content_type="application/json")
    assert response.status_code == 400
    assert "text" in response.json()
    assert not AuditEntry.objects.exists()


def test_unchanged_edit_writes_no_audit_entry(csm_client, customer, csm):
    note = NoteFactory(customer=customer, author=csm, text="Same.")
    url = reverse("api_note", args=[note.pk])
    assert (
        csm_client.patch(url, json.dumps({"text": "Same."}), content_type="application/json").status_code
        == 200
    )
    assert not AuditEntry.objects.exists()


def test_editing_a_touchpoint_marks_the_customer_for_the_live_recompute(csm_client, customer, csm):
    touchpoint = TouchpointFactory(customer=customer, author=csm)
    DirtyCustomer.objects.all().delete()
    assert api_delete(csm_client, touchpoint, "touchpoint").status_code == 204
    assert DirtyCustomer.objects.filter(customer=customer).exists()


def test_api_reads_one_log_for_any_signed_in_user(other_csm_client, customer, csm):
    note = NoteFactory(customer=customer, author=csm, text="Readable")
    response = other_csm_client.get(reverse("api_note", args=[note.pk]))
    assert response.status_code == 200
    assert response.json()["text"] == "Readable"
    assert response.json()["customer"] == customer.external_id


# --- Notes -------------------------------------------------------------------------------------------


@pytest.fixture
def published():
    seen: list[dict] = []

    def listener(**payload):
        seen.append(payload)

    events.subscribe("note.created", listener)
    yield seen
    events.unsubscribe("note.created", listener)


def test_csm_writes_a_note_on_the_page_and_it_is_announced(csm_client, customer, csm, published):
    response = csm_client.post(reverse("note_create", args=[customer.external_id]), {"text": " Hi @maria "})
    assert response.status_code == 302
    note = Note.objects.get()
    assert (note.author, note.customer, note.text) == (csm, customer, "Hi @maria")
    assert published == [
        {
            "event": "note.created",
            "note_id": note.pk,
            "customer_id": customer.pk,
            "author_id": csm.pk,
            "text": "Hi @maria",
        }
    ]
    page = csm_client.get(customer.get_absolute_url()).content.decode()
    assert f'id="note-{note.pk}"' in page


def test_htmx_note_returns_fresh_form_and_prepends_to_timeline(csm_client, customer):
    response = csm_client.post(
        reverse("note_create", args=[customer.external_id]),
        {"text": "Champion left."},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="note-form"' in body
    assert 'hx-swap-oob="afterbegin:#timeline"' in body
    assert "Champion left." in body


def test_note_form_errors_come_back_inline(csm_client, customer):
    response = csm_client.post(reverse("note_create", args=[customer.external_id]), {"text": ""})
    assert response.status_code == 200
    assert "Write the note." in response.content.decode()
    assert not Note.objects.exists()


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("csm", True), ("manager", True), ("admin_user", True), ("other_csm", False), ("other_manager", False)],
)
def test_who_may_write_a_note_html_and_api(request, customer, persona, allowed, published):
    client = client_for(request.getfixturevalue(persona))
    html = client.post(reverse("note_create", args=[customer.external_id]), {"text": "From the page"})
    api = client.post(
        reverse("api_notes"),
        json.dumps({"customer": customer.external_id, "text": "From the API"}),
        content_type="application/json",
    )
    if allowed:
        assert (html.status_code, api.status_code) == (302, 201)
        assert api.json()["text"] == "From the API"
        assert Note.objects.count() == 2
        assert len(published) == 2
    else:
        assert (html.status_code, api.status_code) == (403, 403)
        assert not Note.objects.exists()
        assert published == []


def test_api_note_bad_input_is_a_400(csm_client, customer):
    url = reverse("api_notes")
    for body, field in [
        ({"customer": customer.external_id, "text": "x" * 5001}, "text"),
        ({"customer": customer.external_id}, "text"),
        ({"customer": "NOPE", "text": "hi"}, "customer"),
        ({"customer": customer.external_id, "text": "bad\x00"}, "text"),
    ]:
        response = csm_client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, body
        assert field in response.json()
    assert not Note.objects.exists()


def test_only_editable_entries_show_edit_and_delete(customer, csm, manager, other_csm):
    note = NoteFactory(customer=customer, author=csm, text="Mine")
    edit_link = f'href="{reverse("log_edit", args=[customer.external_id, "note", note.pk])}"'

    def edit_links(user) -> int:
        return client_for(user).get(customer.get_absolute_url()).content.decode().count(edit_link)

    assert edit_links(csm) == 1
    assert edit_links(other_csm) == 0
    assert edit_links(manager) == 1


def test_htmx_delete_removes_the_entry(csm_client, customer, csm):
    note = NoteFactory(customer=customer, author=csm)
    response = csm_client.post(
        reverse("log_delete", args=[customer.external_id, "note", note.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content == b""
    assert not Note.objects.exists()


def test_editing_only_the_summary_does_not_log_a_time_change(csm_client, customer, csm):
    touchpoint = TouchpointFactory(
        customer=customer, author=csm, summary="Before"
    )  # seconds and microseconds
    original = touchpoint.occurred_at
    url = reverse("log_edit", args=[customer.external_id, "touchpoint", touchpoint.pk])
    form = csm_client.get(url).context["form"]
    data = {name: form[name].value() for name in ("kind", "sentiment", "summary")}
    data["occurred_at"] = form["occurred_at"].value().strftime("%Y-%m-%dT%H:%M")
    data["summary"] = "After"
    assert csm_client.post(url, data).status_code == 302
    entry = AuditEntry.objects.get()
    assert set(entry.changes) == {"summary"}
    touchpoint.refresh_from_db()
    assert touchpoint.occurred_at == original
    assert touchpoint.summary == "After"


def test_a_deleted_logs_author_is_kept_by_name(csm_client, customer, csm):
    note = NoteFactory(customer=customer, author=csm)
    assert api_delete(csm_client, note, "note").status_code == 204
    assert AuditEntry.objects.get().changes["author"]["before_label"] == "Casey Csm"
