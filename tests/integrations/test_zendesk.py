"""Zendesk (docs/integrations.md#zendesk): the signed webhook and `sync_zendesk` against a small local fake of
Zendesk's API serving recorded JSON in its documented shapes; both give the same tickets, and re-running
changes nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from integrations.models import ConnectorActivity
from metrics.models import Ticket
from tests.factories import CustomerFactory

from .receiver import Receiver

API = Path(__file__).parent / "zendesk_api"
SECRET = "dGhpcyBpcyBhIHNpZ25pbmcgc2VjcmV0"
TICKET_FIELDS = (
    "external_id",
    "customer__external_id",
    "opened_at",
    "resolved_at",
    "priority",
    "first_contact_resolution",
    "category",
)


def recorded(name: str) -> dict:
    return json.loads((API / name).read_text())


class FakeZendesk(Receiver):
    """Serves the incremental export (two pages, cursor-linked) and show_many from the recorded pages."""

    def __init__(self) -> None:
        super().__init__(routes=self.route)
        self.pages = [recorded("incremental_page1.json"), recorded("incremental_page2.json")]

    def route(self, path: str) -> tuple[int, dict]:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if query.get("include") != "metric_sets,organizations":
            return 400, {"error": "expected side-loads"}
        if url.path == "/api/v2/incremental/tickets/cursor.json":
            if "cursor" in query:
                return (200, self.pages[1]) if query["cursor"] == self.pages[0]["after_cursor"] else (400, {})
            return 200, self.pages[0]
        if url.path == "/api/v2/tickets/show_many.json":
            wanted = {int(i) for i in query["ids"].split(",")}
            out: dict[str, list] = {"tickets": [], "metric_sets": [], "organizations": []}
            for page in self.pages:
                out["tickets"] += [t for t in page["tickets"] if t["id"] in wanted]
                out["metric_sets"] += [m for m in page["metric_sets"] if m["ticket_id"] in wanted]
                orgs = {t["organization_id"] for t in out["tickets"]}
                known = {o["id"] for o in out["organizations"]}
                out["organizations"] += [o for o in page["organizations"] if o["id"] in orgs - known]
            return 200, out
        return 404, {"error": "InvalidEndpoint"}


@pytest.fixture
def zendesk(settings) -> Iterator[FakeZendesk]:
    fake = FakeZendesk().start()
    settings.ZENDESK_URL = fake.url
    settings.ZENDESK_EMAIL = "agent@acme.example"
    settings.ZENDESK_API_TOKEN = "api-token-123"
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    yield fake
    fake.stop()


def tickets() -> list[tuple]:
    return list(Ticket.objects.order_by("external_id").values_list(*TICKET_FIELDS))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


EXPECTED = [
    ("zendesk:101", "NW-1", at("2026-11-02T09:00:00Z"), at("2026-11-02T15:30:00Z"), "high", True, "incident"),
    ("zendesk:102", "NW-1", at("2026-11-10T08:00:00Z"), None, "urgent", None, "problem"),
    (
        "zendesk:104",
        "NW-1",
        at("2026-11-12T09:00:00Z"),
        at("2026-11-16T11:00:00Z"),
        "normal",
        False,
        "question",
    ),
]


def test_sync_zendesk_backfills_through_the_cursor_and_is_idempotent(zendesk, customer):
    out = StringIO()
    call_command("sync_zendesk", stdout=out)
    assert "created 3, updated 0, unchanged 0, skipped 2" in out.getvalue()
    assert tickets() == EXPECTED
    first = zendesk.received[0]
    assert (
        first.headers["Authorization"]
        == "Basic " + base64.b64encode(b"agent@acme.example/token:api-token-123").decode()
    )
    assert "start_time=86400" in first.path  # no --since: from the start
    assert "cursor=MTc2Mjg2MjQwMC4wfHwxMDN8" in zendesk.received[1].path

    errors = {
        e.payload["id"]: e.error
        for e in ConnectorActivity.objects.filter(connector="zendesk").exclude(error="")
    }
    assert set(errors) == {103, 105}
    assert "no external_id" in errors[103]
    assert "GONE-9" in errors[105]

    out = StringIO()
    call_command("sync_zendesk", "--since", "2026-11-01", stdout=out)
    assert "created 0, updated 0, unchanged 3" in out.getvalue()
    start = int(dt.datetime(2026, 11, 1, tzinfo=timezone.get_current_timezone()).timestamp())
    assert f"start_time={start}" in zendesk.received[2].path
    assert tickets() == EXPECTED


def test_sync_zendesk_refuses_a_bad_date_and_a_missing_configuration(settings, db):
    with pytest.raises(CommandError, match="--since"):
        call_command("sync_zendesk", "--since", "yesterday")
    settings.ZENDESK_URL = settings.ZENDESK_SUBDOMAIN = ""
    with pytest.raises(CommandError, match="ZENDESK_SUBDOMAIN"):
        call_command("sync_zendesk")


def signed(body: bytes, *, secret: str = SECRET, when: dt.datetime | None = None) -> dict[str, str]:
    timestamp = (when or timezone.now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    )
    return {
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE": signature.decode(),
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP": timestamp,
    }


def ticket_event(ticket_id: int) -> bytes:
    """Zendesk's ticket event webhook body (event subscriptions), as documented."""
    return json.dumps(
        {
            "account_id": 22129848,
            "detail": {
                "actor_id": "7001",
                "assignee_id": "7001",
                "brand_id": "1",
                "created_at": "2026-11-02T09:00:00Z",
                "description": "The export button spins forever.",
                "external_id": None,
                "form_id": "1",
                "group_id": "360001",
                "id": str(ticket_id),
                "organization_id": "9001",
                "priority": "HIGH",
                "requester_id": "5001",
                "status": "SOLVED",
                "subject": "Export to CSV fails",
                "submitter_id": "5001",
                "tags": ["export"],
                "type": "INCIDENT",
                "updated_at": "2026-11-03T10:00:00Z",
                "via": {"channel": "email"},
            },
            "event": {"current": "SOLVED", "previous": "OPEN"},
            "id": "cbe4028c-7239-495d-b020-f22348516046",
            "subject": f"zen:ticket:{ticket_id}",
            "time": "2026-11-03T10:00:00.000000000Z",
            "type": "zen:event-type:ticket.status_changed",
            "zendesk_event_version": "2022-11-06",
        }
    ).encode()


def post(client, body: bytes, **headers):
    return client.post(reverse("zendesk_webhook"), body, content_type="application/json", **headers)


def test_the_webhook_and_the_backfill_give_the_same_tickets(
    zendesk, client, customer, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="OTHER-1")
    for ticket_id in (101, 102, 104):
        body = ticket_event(ticket_id)
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, body, **signed(body))
        assert response.status_code == 202
        assert response.json() == {"accepted": [ticket_id]}
    body = json.dumps({"ticket_id": "103"}).encode()  # a trigger's own JSON body
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, **signed(body)).status_code == 202
    from_webhook = tickets()
    assert from_webhook == EXPECTED

    out = StringIO()
    call_command("sync_zendesk", stdout=out)
    assert "created 0, updated 0, unchanged 3, skipped 2" in out.getvalue()
    assert tickets() == from_webhook


@pytest.mark.parametrize("case", ["wrong secret", "stale", "future", "missing", "tampered", "not configured"])
def test_the_webhook_refuses_bad_signatures_and_stale_timestamps(zendesk, client, customer, settings, case):
    body = ticket_event(101)
    headers = signed(body)
    if case == "wrong secret":
        headers = signed(body, secret="another-secret")
    elif case == "stale":
        headers = signed(body, when=timezone.now() - dt.timedelta(minutes=6))
    elif case == "future":
        headers = signed(body, when=timezone.now() + dt.timedelta(minutes=6))
    elif case == "missing":
        headers = {}
    elif case == "tampered":
        body = ticket_event(102)
    elif case == "not configured":
        settings.ZENDESK_WEBHOOK_SECRET = ""
    response = post(client, body, **headers)
    assert response.status_code == 401
    assert response.json()["detail"]
    assert zendesk.received == []
    assert not Ticket.objects.exists()
    assert not ConnectorActivity.objects.exists()


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"ticket_id": "abc"}', b"[1, 2]", b'{"ticket": {"id": -4}}']
)
def test_a_signed_body_that_names_no_ticket_is_a_400(zendesk, client, body):
    response = post(client, body, **signed(body))
    assert response.status_code == 400
    assert response.json()["detail"]
    assert zendesk.received == []


def test_the_webhook_answers_get_with_405(client):
    assert client.get(reverse("zendesk_webhook")).status_code == 405
