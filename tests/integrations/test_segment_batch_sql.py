"""The one-statement path of `/v1/batch` on PostgreSQL (integrations/segment/batch_sql.py,
docs/integrations.md#throughput): for the batches it takes it writes exactly what the Python path writes, and
it takes no batch the Python path would refuse or read differently."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import pytest
from django.db import connection, transaction

from accounts.models import DirtyCustomer
from integrations.models import SegmentPending
from integrations.segment import batch_sql
from integrations.segment.services import segment_batch_ingest_sql, segment_messages_ingest
from metrics.models import FirstUtilizationDay, UsageDaily, UsageEvent, UsageUserDay
from tests.factories import CustomerFactory
from tests.integrations.test_segment import post, track
from tests.requirements import require_postgres

NOW = "2026-01-01T10:00:00Z"


@pytest.fixture(autouse=True)
def _postgresql_for_the_sql_path(request):
    """The one-statement path exists on PostgreSQL only: its tests (marked `services`) skip elsewhere, as
    `make test` runs them on a laptop's SQLite (CI's PostgreSQL pass runs them)."""
    if request.node.get_closest_marker("services"):
        require_postgres()


def event(message_id: str, group: str = "K-1", **extra) -> dict:
    return track(message_id, context={"groupId": group}, **extra)


def stored() -> dict[str, list]:
    """Everything either path writes, in a comparable form."""
    return {
        "events": sorted(
            UsageEvent.objects.values_list(
                "event_id", "customer__external_id", "user_id", "feature", "occurred_at", "quantity"
            )
        ),
        "daily": sorted(
            UsageDaily.objects.values_list("customer__external_id", "day", "user_id", "feature", "events")
        ),
        "user_days": sorted(
            UsageUserDay.objects.values_list("customer__external_id", "day", "user_id", "events")
        ),
        "pending": sorted(
            (m, k, u, g, json.dumps(r, sort_keys=True))
            for m, k, u, g, r in SegmentPending.objects.values_list(
                "message_id", "kind", "user_id", "group_id", "row"
            )
        ),
        "dirty": sorted(DirtyCustomer.objects.values_list("customer__external_id", "version")),
        "first_utilization": sorted(
            FirstUtilizationDay.objects.values_list("customer__external_id", "version", "computed_version")
        ),
    }


def outcome(write) -> tuple:
    """The answer and the rows of one write, rolled back afterwards so the other path starts equal."""
    with transaction.atomic():
        counts = write()
        rows = stored()
        transaction.set_rollback(True)
    return counts, rows


SAME_AS_PYTHON = [
    pytest.param([event("a1"), event("a2", user="u2", event="Export")], id="tracks"),
    pytest.param(
        [event("b1"), event("b1", event="Other"), event("b2")], id="a messageId twice: the first wins"
    ),
    pytest.param([event("old-1"), event("c2")], id="a messageId already stored is a duplicate"),
    pytest.param([event("d1", group="NEW-1"), event("d2")], id="an unknown customer's events are kept"),
    pytest.param([event("old-2", group="NEW-2")], id="a kept call sent again is kept once"),
    pytest.param(
        [
            {"type": "page", "messageId": "p1", "userId": "u1", "name": "Pricing", "timestamp": NOW},
            {"type": "page", "messageId": "p2", "userId": "u1", "timestamp": NOW},
            {"type": "screen", "messageId": "p3", "userId": "u1", "name": "", "timestamp": NOW},
            {
                "type": "screen",
                "messageId": "p4",
                "userId": "u1",
                "properties": {"name": "Home"},
                "timestamp": NOW,
            },
            {
                "type": "page",
                "messageId": "p5",
                "userId": "u1",
                "properties": {"name": None},
                "timestamp": NOW,
            },
        ],
        id="page and screen names",
    ),
    pytest.param(
        [
            event("t1", timestamp="2025-12-31T23:30:00.5-02:00"),
            event("t2", timestamp="2025-06-01T00:00:00.123456+05:45"),
            event("t3", timestamp="1999-01-01T00:00:00Z"),
        ],
        id="timestamps with offsets and fractions",
    ),
    pytest.param(
        [event("ü-1", user="Zoë Ω", event="Café exporté", group="K.2:x_y-z")],
        id="non-ASCII text and id punctuation",
    ),
    pytest.param([], id="an empty batch"),
]


@pytest.mark.services
@pytest.mark.django_db
@pytest.mark.parametrize("messages", SAME_AS_PYTHON)
def test_the_sql_path_writes_what_the_python_path_writes(messages):
    assert connection.vendor == "postgresql"
    for external_id in ("K-1", "K.2:x_y-z"):
        CustomerFactory(external_id=external_id)
    segment_messages_ingest(messages=[event("old-1"), event("old-2", group="NEW-2")])
    for message in messages:
        message.setdefault("context", {"groupId": "K-1"})
    body = json.dumps({"batch": messages}).encode()

    sql_counts, sql_rows = outcome(lambda: segment_batch_ingest_sql(body=body))
    python_counts, python_rows = outcome(lambda: segment_messages_ingest(messages=json.loads(body)["batch"]))

    assert sql_counts is not None, "the SQL path should take this batch"
    assert sql_counts.pop("messages") == len(messages)
    assert sql_counts == python_counts
    assert sql_rows == python_rows


NOT_TAKEN = [
    pytest.param({"type": "identify", "userId": "u1", "traits": {"email": "a@b.test"}}, id="identify"),
    pytest.param({"type": "group", "userId": "u1", "groupId": "K-1"}, id="group"),
    pytest.param({"type": "alias", "userId": "u1", "previousId": "u0"}, id="alias"),
    pytest.param(track("n1"), id="no context.groupId (the user's last group decides)"),
    pytest.param({**event("n2"), "userId": None, "anonymousId": "anon-1"}, id="anonymous"),
    pytest.param({**event("n3"), "userId": 42}, id="a numeric userId"),
    pytest.param({**event("n4"), "userId": " u1"}, id="a userId to trim"),
    pytest.param({**event("n5"), "userId": "u1\u3000"}, id="a userId ending in ideographic space"),
    pytest.param({**event("n6"), "messageId": None}, id="no messageId"),
    pytest.param(event("n7", event="Tab\there"), id="a control character"),
    pytest.param(event("n8", event="Trailing "), id="a feature with a space at its end"),
    pytest.param(event("n9", event=""), id="an empty event"),
    pytest.param(event("n10", event="E" * 101), id="a feature too long"),
    pytest.param(event("n11", user="u" * 201), id="a userId too long"),
    pytest.param(event("n12", group=" K-1"), id="a groupId to trim"),
    pytest.param(event("n13", group="bad id"), id="a groupId outside the domain"),
    pytest.param(event("n14", timestamp="2026-01-01T10:00:00"), id="a timestamp without offset"),
    pytest.param(event("n15", timestamp="2026-01-01 10:00:00Z"), id="a timestamp with a space"),
    pytest.param(event("n16", timestamp="2026-01-01T10:00:00.1234567Z"), id="seven fraction digits"),
    pytest.param(event("n17", timestamp="2026-02-30T10:00:00Z"), id="a day no calendar has"),
    pytest.param(event("n18", timestamp="1899-12-31T10:00:00Z"), id="before 1900"),
    pytest.param(event("n18b", timestamp="2026-01-01T10:00:00+16:00"), id="an offset timestamptz refuses"),
    pytest.param(event("n19", timestamp="2999-01-01T10:00:00Z"), id="in the future"),
    pytest.param({**event("n20"), "timestamp": None, "originalTimestamp": NOW}, id="originalTimestamp only"),
    pytest.param(event("n21", properties={"blob": "x" * 20_000}), id="a message over 16 KB"),
    pytest.param({**event("n22"), "type": "page", "name": 0}, id="a page name that is not text"),
    pytest.param(event("n23", properties={"nul": "\u0000"}), id="a NUL PostgreSQL refuses"),
    pytest.param(["not", "an", "object"], id="a message that is not an object"),
]


@pytest.mark.services
@pytest.mark.django_db
@pytest.mark.parametrize("odd", NOT_TAKEN)
def test_the_sql_path_leaves_every_other_batch_to_the_python_path(odd):
    CustomerFactory(external_id="K-1")
    body = json.dumps({"batch": [event("ok-1"), odd, event("ok-2")]}).encode()
    assert segment_batch_ingest_sql(body=body) is None
    assert not UsageEvent.objects.exists()
    assert not SegmentPending.objects.exists()
    assert not DirtyCustomer.objects.exists()


@pytest.mark.services
@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"batch": "x"}', b"[1, 2]", b"[" * 100_000, b'{"batch": [NaN]}', "é".encode("latin-1")],
)
def test_bodies_postgresql_does_not_read_go_to_the_python_path(raw):
    assert segment_batch_ingest_sql(body=raw) is None


@pytest.mark.services
@pytest.mark.django_db
def test_the_sql_path_marks_customers_dirty_only_for_new_usage():
    CustomerFactory(external_id="K-1")
    body = json.dumps({"batch": [event("m1")]}).encode()
    with transaction.atomic():
        assert segment_batch_ingest_sql(body=body)["accepted"] == 1
    assert DirtyCustomer.objects.get(customer__external_id="K-1").version == 1
    with transaction.atomic():
        assert segment_batch_ingest_sql(body=body)["duplicates"] == 1
    assert DirtyCustomer.objects.get(customer__external_id="K-1").version == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("message", "field"),
    [
        (event("v1", timestamp="2026-02-30T10:00:00Z"), "timestamp"),
        (event("v2", event="E" * 101), "event"),
        (event("v3", timestamp="2999-01-01T10:00:00Z"), "timestamp"),
    ],
)
def test_a_bad_plain_event_is_still_a_400_naming_it(key, message, field):
    CustomerFactory(external_id="K-1")
    response = post("/v1/batch", {"batch": [event("fine"), message]}, key)
    assert response.status_code == 400
    assert {"row": 1, "field": field} == {k: response.json()["errors"][0][k] for k in ("row", "field")}
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_a_batch_of_plain_events_through_the_view(key, django_assert_max_num_queries):
    CustomerFactory(external_id="K-1")
    batch = [event(f"e{i}", user=f"u{i % 3}") for i in range(300)] + [event("x1", group="LATER-1")]
    with django_assert_max_num_queries(16):
        response = post("/v1/batch", {"batch": batch}, key)
    assert response.json() == {
        "success": True,
        "customers": 0,
        "contacts": 0,
        "accepted": 300,
        "duplicates": 0,
        "pending": 1,
        "attached": 0,
    }
    assert UsageEvent.objects.count() == 300
    assert sum(UsageDaily.objects.values_list("events", flat=True)) == 300
    assert SegmentPending.objects.get().group_id == "LATER-1"


@pytest.fixture
def key() -> str:
    from integrations.segment.keys import write_key_get_or_create

    return write_key_get_or_create()


def test_the_characters_the_sql_path_refuses_are_pythons_whitespace_and_controls():
    """SPACE_CHARS and CONTROL_CHARS, as ranges, are exactly what str.isspace() and core.validation's
    control check find, but NUL (PostgreSQL's jsonb refuses it before the pattern runs)."""

    def expand(ranges: str) -> set[str]:
        out, i = set(), 0
        while i < len(ranges):
            if i + 2 < len(ranges) and ranges[i + 1] == "-":
                out |= {chr(c) for c in range(ord(ranges[i]), ord(ranges[i + 2]) + 1)}
                i += 3
            else:
                out.add(ranges[i])
                i += 1
        return out

    controls = {chr(c) for c in [*range(1, 0x20), *range(0x7F, 0xA0)]}
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert expand(batch_sql.CONTROL_CHARS) == controls
    assert expand(batch_sql.SPACE_CHARS) | controls == spaces | controls
    assert all(unicodedata.category(c) in ("Zs", "Zl", "Zp") for c in expand(batch_sql.SPACE_CHARS))


@pytest.mark.services
@pytest.mark.django_db
def test_postgresql_reads_the_plain_text_pattern_as_python_does():
    chars = [chr(c) for c in [*range(1, 0x3100), 0xFEFF, 0x1F600]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(c) FILTER (WHERE c ~ %s) FROM unnest(%s::text[]) AS c",
            [batch_sql.PLAIN_TEXT_RE, chars],
        )
        plain = set(cursor.fetchone()[0])
    refused = set(chars) - plain
    assert refused == {
        c for c in chars if c.isspace() or c in set(chr(x) for x in [*range(1, 0x20), *range(0x7F, 0xA0)])
    }


@pytest.mark.services
@pytest.mark.django_db
def test_timestamps_the_pattern_admits_mean_the_same_instant_to_python_and_postgresql():
    samples = [
        "2026-01-01T10:00:00Z",
        "2026-01-01T10:00:00.5Z",
        "2026-01-01T10:00:00.123456+05:45",
        "2026-07-01T23:59:59.999-09:30",
        "1900-01-01T00:00:00+01:00",
        "2024-02-29T12:00:00.000+00:00",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s, s ~ %s, (s::timestamptz) FROM unnest(%s::text[]) AS s",
            [batch_sql.TIMESTAMP_RE, samples],
        )
        rows = cursor.fetchall()
    for text, admitted, instant in rows:
        assert admitted, text
        assert instant == dt.datetime.fromisoformat(text), text
