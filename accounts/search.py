"""The top-bar search over customers, contacts and what was written (touchpoints, notes)
(docs/workspace.md#search).

Three queries whatever the database: customers, contacts, and touchpoint and note text together.
PostgreSQL matches through the GIN indexes of accounts/search_sql.py and ranks with ts_rank; SQLite through
its FTS5 tables and bm25. Every word of the query must match, as a prefix ("acm tra" finds Acme Trading);
on PostgreSQL the words of touchpoint and note text are whole but the last (see `_text_query`).

Every signed-in user may read every customer and what was logged on it
(docs/architecture.md#roles-and-permissions), so search filters nothing by role; it answers only what the
customer page shows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import search_sql
from .models import User
from .visibility import is_signed_in

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
GROUP_SIZE = 8  # hits per group
# PostgreSQL ranks at most this many matches per group (text: per kind). A word found in 100,000 notes would
# otherwise be ranked in all of them.
CANDIDATES = 300
SNIPPET = 160
_TERM = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class CustomerHit:
    external_id: str
    name: str
    segment: str
    csm: str

    @property
    def url(self) -> str:
        return reverse("customer_detail", kwargs={"external_id": self.external_id})


@dataclass(frozen=True)
class ContactHit:
    customer: str  # external id
    customer_name: str
    name: str
    email: str
    title: str

    @property
    def url(self) -> str:
        return reverse("customer_detail", kwargs={"external_id": self.customer}) + "#contacts-title"


@dataclass(frozen=True)
class TextHit:
    kind: str  # "touchpoint" | "note"
    id: int
    customer: str
    customer_name: str
    at: dt.datetime
    author: str
    snippet: str

    @property
    def url(self) -> str:
        return reverse("customer_detail", kwargs={"external_id": self.customer}) + f"#{self.kind}-{self.id}"


@dataclass
class SearchResults:
    q: str
    customers: list[CustomerHit] = field(default_factory=list)
    contacts: list[ContactHit] = field(default_factory=list)
    notes: list[TextHit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.customers or self.contacts or self.notes)


def terms_of(q: str) -> list[str]:
    """The words searched for; ValidationError (→ 400 naming `q`) for an empty or oversized query."""
    q = (q or "").strip()
    if not q:
        raise ValidationError({"q": "Type something to search for."})
    if len(q) > MAX_QUERY_LENGTH:
        raise ValidationError({"q": f"Search for at most {MAX_QUERY_LENGTH} characters."})
    terms = [t.lower() for t in _TERM.findall(q)][:MAX_TERMS]
    if not terms:
        raise ValidationError({"q": "Search for letters or digits."})
    return [t[:50] for t in terms]


def search(*, user: User, q: str, limit: int = GROUP_SIZE) -> SearchResults:
    """Customers, contacts and touchpoint/note text matching every word of `q`, best first (3 queries)."""
    if not is_signed_in(user):  # a deactivated account keeps its session but reads nothing
        raise PermissionDenied
    terms = terms_of(q)
    results = SearchResults(q=q.strip())
    if connection.vendor == "postgresql":
        names = " & ".join(f"{t}:*" for t in terms)
        results.customers = _pg_customers(names, limit)
        results.contacts = _pg_contacts(names, limit)
        results.notes = _pg_text(_text_query(terms), limit, terms)
    else:
        query = " ".join(f'"{t}"*' for t in terms)  # terms are \w+ only: nothing to escape
        results.customers = _sqlite_customers(query, limit)
        results.contacts = _sqlite_contacts(query, limit)
        results.notes = _sqlite_text(query, limit, terms)
    return results


def _text_query(terms: list[str]) -> str:
    """Touchpoint and note text: the words typed are whole (stemmed: "pricing" finds "prices"), only the
    last one, still being typed, is a prefix, once it has 3 characters: a prefix of one or two letters
    would match most of a million texts."""
    *whole, last = terms
    return " & ".join([*whole, f"{last}:*" if len(last) >= 3 else last])


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


CSM_NAME = "COALESCE(NULLIF(u.full_name, ''), u.email, '')"


# --- PostgreSQL ----------------------------------------------------------------------------------------


def _pg_customers(query: str, limit: int) -> list[CustomerHit]:
    # The GIN index finds the matches; only the first CANDIDATES of them are ranked, so "inc" (in every
    # name) costs what "acme" does. The query is inline, not a CTE, so the planner sees how selective it is.
    vector = search_sql.PG_CUSTOMER_VECTOR.replace('"name"', "c.name").replace(
        '"external_id"', "c.external_id"
    )
    ranked = search_sql.PG_CUSTOMER_VECTOR.replace('"name"', "h.name").replace(
        '"external_id"', "h.external_id"
    )
    sql = f"""
        WITH hits AS (
            SELECT c.id, c.name, c.external_id, c.segment, c.csm_id FROM accounts_customer c
            WHERE {vector} @@ to_tsquery('simple', %s) LIMIT %s
        )
        SELECT h.external_id, h.name, h.segment, {CSM_NAME}
        FROM hits h LEFT JOIN accounts_user u ON u.id = h.csm_id
        ORDER BY ts_rank({ranked}, to_tsquery('simple', %s)) DESC, h.name, h.id
        LIMIT %s"""  # noqa: S608 - the expressions are ours; the query is a parameter
    return [CustomerHit(*row) for row in _rows(sql, [query, CANDIDATES, query, limit])]


def _pg_contacts(query: str, limit: int) -> list[ContactHit]:
    vector = search_sql.PG_CONTACT_VECTOR.replace('"name"', "k.name").replace('"email"', "k.email")
    ranked = search_sql.PG_CONTACT_VECTOR.replace('"name"', "h.name").replace('"email"', "h.email")
    sql = f"""
        WITH hits AS (
            SELECT k.id, k.name, k.email, k.title, k.customer_id FROM accounts_contact k
            WHERE {vector} @@ to_tsquery('simple', %s) LIMIT %s
        )
        SELECT c.external_id, c.name, h.name, h.email, h.title
        FROM hits h JOIN accounts_customer c ON c.id = h.customer_id
        ORDER BY ts_rank({ranked}, to_tsquery('simple', %s)) DESC, h.name, h.id
        LIMIT %s"""  # noqa: S608 - the expressions are ours; the query is a parameter
    return [ContactHit(*row) for row in _rows(sql, [query, CANDIDATES, query, limit])]


def _pg_text(query: str, limit: int, terms: list[str]) -> list[TextHit]:
    # search_vector: the stored generated column of accounts/search_sql.py (PostgreSQL only).
    sql = f"""
        WITH hits AS (
            (SELECT 'touchpoint' AS kind, t.id, t.customer_id, t.occurred_at AS at, t.author_id,
                    t.summary AS body, ts_rank(t.search_vector, to_tsquery('english', %s)) AS rank
             FROM accounts_touchpoint t WHERE t.search_vector @@ to_tsquery('english', %s) LIMIT %s)
            UNION ALL
            (SELECT 'note', n.id, n.customer_id, n.created_at, n.author_id, n.text,
                    ts_rank(n.search_vector, to_tsquery('english', %s))
             FROM accounts_note n WHERE n.search_vector @@ to_tsquery('english', %s) LIMIT %s)
        )
        SELECT h.kind, h.id, c.external_id, c.name, h.at, {CSM_NAME}, h.body
        FROM hits h JOIN accounts_customer c ON c.id = h.customer_id
        LEFT JOIN accounts_user u ON u.id = h.author_id
        ORDER BY h.rank DESC, h.at DESC, h.id DESC
        LIMIT %s"""  # noqa: S608 - the expressions are ours; the query is a parameter
    rows = _rows(sql, [query, query, CANDIDATES, query, query, CANDIDATES, limit])
    return [_text_hit(row, terms) for row in rows]


# --- SQLite (FTS5) --------------------------------------------------------------------------------------


def _sqlite_customers(query: str, limit: int) -> list[CustomerHit]:
    sql = f"""
        SELECT c.external_id, c.name, c.segment, {CSM_NAME}
        FROM search_customer s JOIN accounts_customer c ON c.id = s.rowid
        LEFT JOIN accounts_user u ON u.id = c.csm_id
        WHERE search_customer MATCH %s
        ORDER BY bm25(search_customer), c.name, c.id
        LIMIT %s"""  # noqa: S608 - the expressions are ours; the query is a parameter
    return [CustomerHit(*row) for row in _rows(sql, [query, limit])]


def _sqlite_contacts(query: str, limit: int) -> list[ContactHit]:
    sql = """
        SELECT c.external_id, c.name, k.name, k.email, k.title
        FROM search_contact s JOIN accounts_contact k ON k.id = s.rowid
        JOIN accounts_customer c ON c.id = k.customer_id
        WHERE search_contact MATCH %s
        ORDER BY bm25(search_contact), k.name, k.id
        LIMIT %s"""
    return [ContactHit(*row) for row in _rows(sql, [query, limit])]


def _sqlite_text(query: str, limit: int, terms: list[str]) -> list[TextHit]:
    sql = f"""
        SELECT h.kind, h.id, c.external_id, c.name, h.at, {CSM_NAME}, h.body
        FROM (
            SELECT 'touchpoint' AS kind, t.id, t.customer_id, t.occurred_at AS at, t.author_id,
                   t.summary AS body, bm25(search_touchpoint) AS rank
            FROM search_touchpoint s JOIN accounts_touchpoint t ON t.id = s.rowid
            WHERE search_touchpoint MATCH %s
            UNION ALL
            SELECT 'note', n.id, n.customer_id, n.created_at, n.author_id, n.text, bm25(search_note)
            FROM search_note s JOIN accounts_note n ON n.id = s.rowid
            WHERE search_note MATCH %s
        ) h JOIN accounts_customer c ON c.id = h.customer_id
        LEFT JOIN accounts_user u ON u.id = h.author_id
        ORDER BY h.rank, h.at DESC, h.id DESC
        LIMIT %s"""  # noqa: S608 - the expressions are ours; the query is a parameter
    return [_text_hit(row, terms) for row in _rows(sql, [query, query, limit])]


def _text_hit(row: tuple, terms: list[str]) -> TextHit:
    kind, pk, external_id, customer_name, at, author, body = row
    if isinstance(at, str):
        at = parse_datetime(at)
    if timezone.is_naive(at):
        at = timezone.make_aware(at, dt.UTC)
    return TextHit(kind, int(pk), external_id, customer_name, at, author, snippet(body, terms))


def snippet(body: str, terms: list[str], width: int = SNIPPET) -> str:
    """`width` characters of `body` around the first word that starts with a term."""
    body = " ".join(body.split())
    lowered = body.lower()
    starts = [m.start() for t in terms if (m := re.search(rf"\b{re.escape(t)}", lowered))]
    start = max(0, min(starts) - width // 3) if starts else 0
    text = body[start : start + width]
    return ("…" if start else "") + text + ("…" if start + width < len(body) else "")
