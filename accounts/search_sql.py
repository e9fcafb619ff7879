"""The full-text indexes behind the top-bar search, per database (docs/workspace.md#search).

PostgreSQL: for customers and contacts (short names), GIN indexes on `to_tsvector` expressions, which the
queries in accounts.search repeat exactly. For touchpoint and note text, a stored generated `search_vector`
column with a GIN index: the database keeps it current on every write, and ranking or filtering many rows
reads it instead of parsing each text again (the cost that dominates a common word's search). The models do
not declare the column (it is PostgreSQL-only); nothing in Django writes it.
SQLite (the embedded default): one FTS5 table per searched table, its rowid the row's id, kept current by
triggers, so every path that writes the rows (services, bulk upserts, imports, raw SQL) keeps search right.
A migration that rebuilds one of the four tables on SQLite drops its triggers: re-run `install(...)`
(tests/accounts/test_search.py fails otherwise).
"""

from __future__ import annotations

# The indexed expressions; accounts.search uses the same text. Ids and emails are split on punctuation so
# "acme" finds jane@acme.com and "00123" finds CUST-00123.
PG_CUSTOMER_VECTOR = (
    "to_tsvector('simple'::regconfig, \"name\" || ' ' || "
    "regexp_replace(\"external_id\", '[^[:alnum:]]+', ' ', 'g'))"
)
PG_CONTACT_VECTOR = (
    "to_tsvector('simple'::regconfig, \"name\" || ' ' || "  # split to keep within the line limit
    "regexp_replace(\"email\", '[^[:alnum:]]+', ' ', 'g'))"
)
PG_TOUCHPOINT_VECTOR = "to_tsvector('english'::regconfig, \"summary\")"
PG_NOTE_VECTOR = "to_tsvector('english'::regconfig, \"text\")"

PG_INDEXES = [
    ("accounts_customer", "customer_search", PG_CUSTOMER_VECTOR),
    ("accounts_contact", "contact_search", PG_CONTACT_VECTOR),
]
# table, generated column's expression, its index
PG_VECTOR_COLUMNS = [
    ("accounts_touchpoint", PG_TOUCHPOINT_VECTOR, "touchpoint_search_vector"),
    ("accounts_note", PG_NOTE_VECTOR, "note_search_vector"),
]

# table, FTS table, indexed columns (the FTS columns have the same names)
SQLITE_TABLES = [
    ("accounts_customer", "search_customer", ("name", "external_id")),
    ("accounts_contact", "search_contact", ("name", "email")),
    ("accounts_touchpoint", "search_touchpoint", ("summary",)),
    ("accounts_note", "search_note", ("text",)),
]


def sqlite_statements() -> list[str]:
    """Tables, triggers and a refill; every name comes from SQLITE_TABLES above, never from input."""
    out = []
    for table, fts, cols in SQLITE_TABLES:
        col_list = ", ".join(cols)
        new_values = ", ".join(f"new.{c}" for c in cols)
        out += [
            # prefix indexes make "acm" → Acme cheap; unicode61 folds case and accents
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({col_list}, "
            f"tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {col_list}) VALUES (new.id, {new_values}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {col_list} ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; "
            f"INSERT INTO {fts}(rowid, {col_list}) VALUES (new.id, {new_values}); END",
            f"DELETE FROM {fts}",
            f"INSERT INTO {fts}(rowid, {col_list}) SELECT id, {col_list} FROM {table}",
        ]
    return out


def install(connection) -> None:
    """Create the indexes (PostgreSQL) or the FTS tables with their triggers, filled (SQLite). Idempotent."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table, name, expr in PG_INDEXES:
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expr}))")
            for table, expr, name in PG_VECTOR_COLUMNS:
                cursor.execute(
                    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_vector tsvector "
                    f"GENERATED ALWAYS AS ({expr}) STORED"
                )
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (search_vector)")
        elif connection.vendor == "sqlite":
            for statement in sqlite_statements():
                cursor.execute(statement)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for _table, name, _expr in PG_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
            for table, _expr, name in PG_VECTOR_COLUMNS:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
        elif connection.vendor == "sqlite":
            for _table, fts, _cols in SQLITE_TABLES:
                for suffix in ("ai", "ad", "au"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
                cursor.execute(f"DROP TABLE IF EXISTS {fts}")
