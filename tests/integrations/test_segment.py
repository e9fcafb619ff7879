"""The Segment-spec tracking API (docs/integrations.md#segment-spec-tracking-api) through Django's test
client; tests/integrations/test_segment_clients.py drives it with the official libraries."""

from __future__ import annotations

import base64
import gzip
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEntry, Contact, Customer
from integrations import activity
from integrations.models import SegmentPending, SegmentWriteKey
from integrations.segment.keys import write_key_get_or_create
from metrics.models import UsageDaily, UsageEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
NOW = "2026-01-01T10:00:00Z"


@pytest.fixture
def key() -> str:
    return write_key_get_or_create()


def post(path: str, body, key: str | None, *, gzipped: bool = False, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {}
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    if gzipped:
        data = gzip.compress(data)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    return Client().post(path, data=data, content_type="application/json", **headers)


def track(message_id: str, user: str = "u1", event: str = "Report Viewed", **extra) -> dict:
    return {
        "type": "track",
        "messageId": message_id,
        "userId": user,
        "event": event,
        "timestamp": NOW,
        **extra,
    }


def group(group_id: str, user: str = "u1", **traits) -> dict:
    return {
        "type": "group",
        "messageId": f"g-{group_id}-{user}",
        "userId": user,
        "groupId": group_id,
        "traits": traits,
        "timestamp": NOW,
    }


def test_batch_maps_group_identify_and_track(key):
    batch = [
        group("ACME-1", name="Acme Corp", plan="Enterprise", seats=40),
        {"type": "identify", "userId": "u1", "traits": {"email": "Ann@Acme.test", "name": "Ann A"}},
        track("m1"),
        {
            "type": "page",
            "messageId": "m2",
            "anonymousId": "anon-9",
            "name": "Pricing",
            "timestamp": NOW,
            "context": {"groupId": "ACME-1"},
        },
        {"type": "screen", "messageId": "m3", "userId": "u1", "timestamp": NOW},
    ]
    response = post("/v1/batch", {"batch": batch}, key)
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True
    acme = Customer.objects.get(external_id="ACME-1")
    assert (acme.name, acme.segment, acme.licenses) == ("Acme Corp", "Enterprise", 40)
    assert list(acme.contacts.values_list("email", "name")) == [("ann@acme.test", "Ann A")]
    events = {e.event_id: (e.user_id, e.feature) for e in UsageEvent.objects.filter(customer=acme)}
    assert events == {"m1": ("u1", "Report Viewed"), "m2": ("anon-9", "Pricing"), "m3": ("u1", "screen")}
    assert UsageDaily.objects.filter(customer=acme).count() == 3
    # The connector's changes are in the audit log, by "Segment".
    assert AuditEntry.objects.filter(customer=acme, actor_label="Segment").count() == 2


def test_replaying_a_batch_changes_nothing(key):
    batch = [group("ACME-1", name="Acme"), track("m1"), track("m2")]
    assert post("/v1/batch", {"batch": batch}, key).json()["accepted"] == 2
    again = post("/v1/batch", {"batch": batch}, key).json()
    assert (again["accepted"], again["duplicates"], again["customers"]) == (0, 2, 0)
    assert UsageEvent.objects.count() == 2
    assert sum(UsageDaily.objects.values_list("events", flat=True)) == 2
    assert AuditEntry.objects.filter(actor_label="Segment").count() == 1


def test_events_of_an_unknown_customer_are_kept_and_attached_when_its_group_arrives(key):
    # No group yet for u7, and an explicit groupId no customer has.
    batch = [
        track("e1", user="u7"),
        track("e2", user="u8", context={"groupId": "NEW-1"}),
        {"type": "identify", "userId": "u7", "traits": {"email": "u7@x.test"}},
    ]
    post("/v1/batch", {"batch": batch}, key)
    assert UsageEvent.objects.count() == 0
    assert SegmentPending.objects.count() == 3
    post("/v1/group", group("NEW-1", user="u7", name="Newco"), key)
    new = Customer.objects.get(external_id="NEW-1")
    assert set(UsageEvent.objects.filter(customer=new).values_list("event_id", "user_id")) == {
        ("e1", "u7"),
        ("e2", "u8"),
    }
    assert list(new.contacts.values_list("email", flat=True)) == ["u7@x.test"]
    assert SegmentPending.objects.count() == 0
    # A retry of a kept call, after it was attached, is a duplicate, not a second event.
    assert post("/v1/track", track("e1", user="u7"), key).json()["duplicates"] == 1
    assert UsageEvent.objects.count() == 2


def test_a_user_is_attached_to_its_last_group(key):
    CustomerFactory(external_id="A-1")
    CustomerFactory(external_id="B-1")
    post("/v1/batch", {"batch": [group("A-1"), track("x1")]}, key)
    post("/v1/batch", {"batch": [group("B-1"), track("x2")]}, key)
    assert dict(UsageEvent.objects.values_list("event_id", "customer__external_id")) == {
        "x1": "A-1",
        "x2": "B-1",
    }


def test_gzip_bodies_are_accepted(key):
    response = post("/v1/batch", {"batch": [group("GZ-1", name="Gz"), track("g1")]}, key, gzipped=True)
    assert response.status_code == 200
    assert UsageEvent.objects.filter(event_id="g1", customer__external_id="GZ-1").exists()


@pytest.mark.parametrize(("key_sent", "status"), [(None, 401), ("wrong-key", 401)])
def test_a_missing_or_wrong_write_key_is_refused(key, key_sent, status):
    response = post("/v1/track", track("m1"), key_sent)
    assert response.status_code == status
    assert response.json()["success"] is False
    assert UsageEvent.objects.count() == 0


def test_the_write_key_in_the_body_is_accepted_too(key):
    CustomerFactory(external_id="C-1")
    body = {"writeKey": key, "batch": [group("C-1"), track("w1")]}
    assert post("/v1/batch", body, None).status_code == 200
    assert UsageEvent.objects.filter(event_id="w1").exists()


def test_segment_size_limits_are_400_with_a_message(key):
    big = track("big", properties={"blob": "x" * (33 * 1024)})
    response = post("/v1/track", big, key)
    assert response.status_code == 400
    assert "32 KB" in response.json()["message"]
    inside_batch = post("/v1/batch", {"batch": [track("ok"), big]}, key)
    assert inside_batch.status_code == 400
    assert inside_batch.json()["errors"][0]["row"] == 1
    many = [track(f"m{i}", properties={"blob": "y" * 20_000}) for i in range(30)]  # ~600 KB
    response = post("/v1/batch", {"batch": many}, key)
    assert response.status_code == 400
    assert "500 KB" in response.json()["message"]
    bomb = post("/v1/batch", None, key, raw=json.dumps({"batch": many}).encode(), gzipped=True)
    assert bomb.status_code == 400  # the limit is on the decompressed body
    assert UsageEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "userId": "u1", "timestamp": NOW}, "event"),
        ({"type": "track", "event": "E", "timestamp": NOW}, "userId"),
        ({"type": "track", "userId": "u1", "event": "E", "timestamp": "yesterday"}, "timestamp"),
        ({"type": "group", "userId": "u1", "groupId": "bad id/1"}, "groupId"),
        ({"type": "group", "userId": "u1", "groupId": "G-1", "traits": {"seats": -3}}, "traits.licenses"),
        ({"type": "identify", "userId": "u1", "traits": {"email": "not-an-email"}}, "traits.email"),
    ],
)
def test_a_bad_message_refuses_the_whole_batch_naming_it(key, message, field):
    response = post("/v1/batch", {"batch": [group("OK-1", name="Fine"), message]}, key)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert {"row": 1, "field": field} == {k: body["errors"][0][k] for k in ("row", "field")}
    assert not Customer.objects.filter(external_id="OK-1").exists()  # nothing written


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"batch": "x"}', b"[1, 2]", b"[" * 100_000, b'{"batch": [NaN]}'],
)
def test_malformed_bodies_are_400_not_500(key, raw):
    response = post("/v1/batch", None, key, raw=raw)
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_bad_gzip_is_400(key):
    response = Client().post(
        "/v1/batch",
        data=b"not gzip at all",
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    )
    assert response.status_code == 400


def test_only_post(key):
    assert Client().get("/v1/batch").status_code == 405


def test_activity_records_received_calls_and_errors(key):
    post("/v1/batch", {"batch": [group("ACT-1"), track("a1"), track("a2")]}, key)
    post("/v1/batch", {"batch": [{"type": "track"}]}, key)
    summary = activity.summary("segment")
    assert summary["items_24h"] == 4  # 3 received + 1 in the failed batch
    assert summary["errors_24h"] == 1
    error = activity.last_errors("segment")[0]
    assert "invalid" in error.error
    assert error.payload == {"batch": [{"type": "track"}]}


def test_alias_and_unknown_calls_are_accepted_and_ignored(key):
    response = post("/v1/batch", {"batch": [{"type": "alias", "userId": "u2", "previousId": "u1"}]}, key)
    assert response.status_code == 200
    assert response.json()["success"] is True


def test_segment_write_key_command_prints_creates_and_rotates():
    out = io.StringIO()
    call_command("segment_write_key", stdout=out)
    first = out.getvalue().strip()
    assert len(first) >= 24
    again = io.StringIO()
    call_command("segment_write_key", stdout=again)
    assert again.getvalue().strip() == first
    rotated = io.StringIO()
    call_command("segment_write_key", "--rotate", stdout=rotated)
    new = rotated.getvalue().strip()
    assert new != first
    assert SegmentWriteKey.objects.get().key == new
    assert post("/v1/track", track("r1"), first).status_code == 401


def test_query_count_of_a_batch_does_not_grow_with_its_size(key, django_assert_max_num_queries):
    CustomerFactory(external_id="Q-1")
    post("/v1/group", group("Q-1"), key)
    for size in (10, 500):
        batch = [track(f"q{size}-{i}", user="u1") for i in range(size)]
        with django_assert_max_num_queries(16):
            assert post("/v1/batch", {"batch": batch}, key).json()["accepted"] == size
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("who", ["csm_client", "admin_client"])
def test_a_signed_in_session_is_not_a_write_key(request, key, who):
    """Only the write key authenticates the tracking API (docs/architecture.md#roles-and-permissions:
    ingestion is for admins, who hold the key); a browser session, even an admin's, is refused."""
    client = request.getfixturevalue(who)
    response = client.post("/v1/track", data=json.dumps(track("s1")), content_type="application/json")
    assert response.status_code == 401
    assert UsageEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (track("l1", user="u" * 201), "userId"),
        ({"type": "identify", "userId": "u" * 201, "traits": {"email": "a@b.test"}}, "userId"),
        (track("g1", context={"groupId": "bad id"}), "context.groupId"),
        (track("g2", context={"groupId": "G" * 101}), "context.groupId"),
    ],
)
def test_ids_outside_their_domain_are_400_not_500(key, message, field):
    response = post("/v1/batch", {"batch": [message]}, key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert SegmentPending.objects.count() == 0


def test_the_status_shows_only_the_start_of_the_key(key):
    from integrations.segment.keys import segment_status

    status = segment_status()
    assert status["configured"] is True
    assert status["write_key_hint"] == key[:6] + "…"
    assert key not in str(status)


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2026-01-01T10:00:00+15:59", "2025-12-31T18:01:00+00:00"),
        ("2026-01-01T10:00:00+20:00", "2025-12-31T14:00:00+00:00"),
        ("2026-01-01T10:00:00-23:59", "2026-01-02T09:59:00+00:00"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/batch", "/v1/track"])
def test_any_offset_python_reads_is_stored_as_its_instant(key, path, stamp, utc):
    """PostgreSQL's timestamptz refuses offsets past ±15:59 that ISO 8601 and Python allow: the event is
    still taken, at the same instant, on either database and through either path."""
    import datetime as dt

    CustomerFactory(external_id="K-1")
    message = track("off-1", context={"groupId": "K-1"}, timestamp=stamp)
    body = {"batch": [message]} if path == "/v1/batch" else message
    response = post(path, body, key)
    assert response.status_code == 200, response.content
    event = UsageEvent.objects.get(event_id="off-1")
    assert event.occurred_at == dt.datetime.fromisoformat(utc)


def test_kept_calls_expire_after_the_setting_and_the_page_counts_them(key, settings, admin_client):
    """Calls for a customer that never appears do not pile up for ever: the nightly expiry deletes those kept
    longer than CSHUB_SEGMENT_PENDING_DAYS (0 keeps them), and the Integrations page says how many wait."""
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone

    from cshub.celery import app
    from integrations.segment.services import segment_pending_expire

    now = timezone.now()
    for i, age in enumerate((95, 91, 89, 1)):
        response = post("/v1/track", track(f"w-{i}", user=f"anon-{i}"), key)
        assert response.json()["pending"] == 1
        SegmentPending.objects.filter(message_id=f"w-{i}").update(received_at=now - dt.timedelta(days=age))
    page = admin_client.get(reverse("integrations")).content.decode()
    oldest = timezone.localtime(now - dt.timedelta(days=95))
    assert (
        f"4 calls wait for a customer not known yet (the oldest from {oldest:%Y-%m-%d}; kept 90 days)" in page
    )

    settings.CSHUB_SEGMENT_PENDING_DAYS = 0
    assert segment_pending_expire(now=now) == 0
    assert SegmentPending.objects.count() == 4
    settings.CSHUB_SEGMENT_PENDING_DAYS = 90
    assert segment_pending_expire(now=now) == 2
    assert sorted(SegmentPending.objects.values_list("message_id", flat=True)) == ["w-2", "w-3"]
    assert segment_pending_expire(now=now) == 0  # safe to run twice

    # A kept call that is still young is attached when its customer's group call comes.
    post("/v1/group", group("K-9", user="anon-3", name="Late Corp"), key)
    assert UsageEvent.objects.filter(event_id="w-3", customer__external_id="K-9").exists()
    assert list(SegmentPending.objects.values_list("message_id", flat=True)) == ["w-2"]
    page = admin_client.get(reverse("integrations")).content.decode()
    assert "1 call waits for a customer not known yet" in page

    schedule = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert "integrations.tasks.segment_pending_expire" in schedule
