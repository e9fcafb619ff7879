"""A `/v1/batch` of plain events as one PostgreSQL statement (docs/integrations.md#throughput).

The body goes to PostgreSQL as it came (one jsonb parameter); the statement checks every message, maps it and
writes it as `mapping.parse_messages` and `services.segment_messages_ingest` would, in C rather than in
Python objects. It takes only batches it can answer exactly as the Python path does: every message a `track`,
`page` or `screen` with a string `userId`, `messageId`, `context.groupId` and `timestamp` (ISO 8601 with an
offset) whose text needs no trimming and has no control character, at most 16 KB as PostgreSQL prints it
(which is at least half its compact JSON size, so under Segment's 32 KB). Any other batch — a group or
identify call, an anonymous user, a naive timestamp, a bad message, a body that is not JSON — is refused by
the statement (nothing written) and takes the Python path, which names the bad messages in its 400.

So the Python path stays the definition; this is a faster way to reach the same rows for the batches the
official libraries send most (tracks from a server-side client that sets the group in `context`).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from accounts.dirty import upsert_sql
from accounts.models import Customer
from core.validation import EXTERNAL_ID_RE
from metrics.services import usage_events_insert_sql

from ..models import SegmentPending, SegmentPendingKind
from .mapping import EVENT_TYPES, MAX_GROUP_ID, MAX_MESSAGE_BYTES, MAX_USER_ID

# PostgreSQL's text of a jsonb value is at least half the compact JSON of the same value as Python prints it
# (`mapping.message_size`): a message this size or less is under Segment's limit.
MAX_PG_TEXT_BYTES = MAX_MESSAGE_BYTES // 2
MAX_EVENT_ID = 200
MAX_FEATURE = 100

# The characters the Python path refuses or trims: C0/C1 controls (core.validation refuses them; tab and
# newline only at the edges, but this path takes none at all) and what str.isspace() calls whitespace (ids
# are stripped, and a feature with a space at an edge is refused). Literal characters in the pattern, so it
# needs no escaping; NUL is left out as PostgreSQL's jsonb refuses it before any pattern runs.
CONTROL_CHARS = "\x01-\x1f\x7f-\x9f"
SPACE_CHARS = " \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PLAIN_TEXT_RE = f"^[^{CONTROL_CHARS}{SPACE_CHARS}]([^{CONTROL_CHARS}]*[^{CONTROL_CHARS}{SPACE_CHARS}])?$"
# What datetime.fromisoformat and PostgreSQL's timestamptz both read the same way (timestamptz takes offsets
# up to ±15:59 only, Python to ±23:59); the year is at least 1900, as the usage validation requires
# (metrics.serializers; the date of the text's own offset).
TIMESTAMP_RE = (
    r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-5]):[0-5][0-9])$"
)
GROUP_ID_RE = f"^{EXTERNAL_ID_RE.pattern}$"  # a character class PostgreSQL reads as Python does


def _text(field: str) -> str:
    """SQL: the jsonb `field` of the message's record as text if it is a JSON string, else NULL."""
    return f"CASE WHEN jsonb_typeof({field}) = 'string' THEN {field} #>> '{{}}' END"


# Each message's fields are read once (jsonb_to_record) into a materialized row: the checks below refer to
# them as columns, rather than looking each key up again in every expression that uses it.
_FIELDS = f"""
    {_text("r.type")} AS kind,
    {_text('r."userId"')} AS usr,
    ({_text('r."messageId"')}) COLLATE "C" AS mid,
    {_text("r.context->'groupId'")} AS grp,
    {_text("r.timestamp")} AS ts,
    CASE WHEN ({_text("r.timestamp")}) ~ p.ts_re THEN ({_text("r.timestamp")})::timestamptz END AS at,
    CASE WHEN r.type = '"track"' THEN {_text("r.event")}
    WHEN jsonb_typeof(r.name) = 'string' AND r.name <> '""' THEN r.name #>> '{{}}'
    WHEN r.name IS NULL OR r.name IN ('null', '""') THEN
        CASE WHEN jsonb_typeof(r.properties) IS DISTINCT FROM 'object' THEN {_text("r.type")}
        WHEN jsonb_typeof(r.properties->'name') = 'string' AND r.properties->'name' <> '""'
            THEN r.properties->>'name'
        WHEN COALESCE(r.properties->'name', 'null') IN ('null', '""') THEN {_text("r.type")}
        END
    END AS feature,
    octet_length(msg::text) AS size"""

_RECORD = """jsonb_to_record(msg) AS r(
    type jsonb, "userId" jsonb, "messageId" jsonb, context jsonb, timestamp jsonb, event jsonb, name jsonb,
    properties jsonb)"""

_OK = """COALESCE(
    size <= p.max_text
    AND kind = ANY(p.kinds)
    AND length(usr) <= p.max_user AND usr ~ p.plain
    AND length(mid) <= p.max_event_id AND mid ~ p.plain
    AND length(grp) <= p.max_group AND grp ~ p.group_re
    AND length(feature) <= p.max_feature AND feature ~ p.plain
    AND at <= p.latest,
    false)"""


def _statement() -> str:
    q = connection.ops.quote_name
    customers = q(Customer._meta.db_table)
    pending = q(SegmentPending._meta.db_table)
    source = "SELECT mid, customer_id, usr, feature, at, 1 FROM src ORDER BY mid"
    mark = upsert_sql(
        "SELECT DISTINCT customer_id, p.now, 1 FROM src, p WHERE EXISTS (SELECT 1 FROM ins) ORDER BY 1"
    )
    return f"""
        WITH p AS MATERIALIZED (
            SELECT %s::jsonb AS body, %s::text AS plain, %s::text AS ts_re, %s::text AS group_re,
                   %s::text[] AS kinds, %s::int AS max_text, %s::int AS max_user, %s::int AS max_event_id,
                   %s::int AS max_group, %s::int AS max_feature, %s::timestamptz AS now,
                   %s::timestamptz + interval '1 day' - interval '5 minutes' AS latest
        ),
        m AS MATERIALIZED (
            SELECT i, {_FIELDS}
            FROM p, jsonb_array_elements(
                CASE WHEN jsonb_typeof(p.body->'batch') = 'array' THEN p.body->'batch' ELSE '[]' END
            ) WITH ORDINALITY AS e(msg, i), {_RECORD}
        ),
        v AS MATERIALIZED (
            SELECT m.*, {_OK} AS ok FROM m, p
        ),
        chk AS MATERIALIZED (
            SELECT (SELECT jsonb_typeof(body) = 'object' AND jsonb_typeof(body->'batch') = 'array' FROM p)
                   AND COALESCE(bool_and(ok), true) AS ok,
                   COUNT(*) AS messages
            FROM v
        ),
        t AS MATERIALIZED (
            SELECT v.i, v.mid, v.usr, v.grp, v.feature, v.ts, v.at, c.id AS customer_id
            FROM v LEFT JOIN {customers} AS c ON c.external_id = v.grp
            WHERE (SELECT ok FROM chk)
        ),
        src AS MATERIALIZED (
            SELECT DISTINCT ON (mid) mid, customer_id, usr, feature, at
            FROM t WHERE customer_id IS NOT NULL ORDER BY mid, i
        ),
        pend AS (
            INSERT INTO {pending} (message_id, kind, user_id, group_id, row, received_at)
            SELECT mid, %s, usr, grp,
                   jsonb_build_object('event_id', mid, 'user_id', usr, 'feature', feature, 'occurred_at', ts,
                                      'quantity', 1),
                   p.now
            FROM t, p WHERE customer_id IS NULL ORDER BY i
            ON CONFLICT DO NOTHING
        ),
        {usage_events_insert_sql(source)},
        mark AS ({mark})
        SELECT (SELECT ok FROM chk), (SELECT messages FROM chk), (SELECT COUNT(*) FROM ins),
               (SELECT COUNT(*) FROM t WHERE customer_id IS NOT NULL),
               (SELECT COUNT(*) FROM t WHERE customer_id IS NULL)
    """  # noqa: S608 - table names are ours


def batch_insert(*, body: str, now: Any, tz: str) -> dict[str, int] | None:
    """Run the statement in the caller's transaction: the counts of `segment_messages_ingest` plus
    `messages`, or None when the batch is not one this path takes (then it wrote nothing). A DataError (the
    body is not JSON PostgreSQL takes, a timestamp no calendar has) propagates: the Python path decides."""
    params = [
        body,
        PLAIN_TEXT_RE,
        TIMESTAMP_RE,
        GROUP_ID_RE,
        list(EVENT_TYPES),
        MAX_PG_TEXT_BYTES,
        MAX_USER_ID,
        MAX_EVENT_ID,
        MAX_GROUP_ID,
        MAX_FEATURE,
        now,
        now,
        SegmentPendingKind.USAGE.value,
        tz,
        tz,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        ok, messages, accepted, known, unknown = cursor.fetchone()
    if not ok:
        return None
    return {
        "customers": 0,
        "contacts": 0,
        "accepted": accepted,
        "duplicates": known - accepted,
        "pending": unknown,
        "attached": 0,
        "messages": messages,
    }
