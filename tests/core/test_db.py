"""Read-replica routing (core/db.py, docs/operations.md#read-replica): dashboards, their APIs and exports read
from the replica; writes, reads after a write and reads inside a primary transaction stay on the primary.

The test settings define a "replica" alias that is a second connection to the test database (TEST MIRROR),
so each query's alias is visible; the tests commit (transaction=True), as a real replica only sees commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Customer
from core import db as core_db
from core.db import (
    ReplicaRouter,
    iterate_from_replica,
    read_alias,
    reader,
    reads_from_replica,
    replica_retry_now,
)
from core.exports import read_csv
from metrics.models import MrrEntry
from tests.conftest import client_for
from tests.factories import CustomerFactory, UserFactory

# Transactional: pytest-django runs these after the suite's ordinary database tests, like every other
# transactional test here (the flush after each also removes what migrations created; the default health model
# is recreated on first use, metrics.health.services.health_model_current).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

APP_TABLES = ("accounts_customer", "metrics_", "playbooks_", "surveys_", "dashboard_")


@pytest.fixture
def replica(settings):
    settings.CSHUB_REPLICA_ALIAS = "replica"
    return "replica"


@contextmanager
def queries_by_alias() -> Iterator[dict[str, list[str]]]:
    seen: dict[str, list[str]] = {}
    with ExitStack() as stack:
        contexts = {
            a: stack.enter_context(CaptureQueriesContext(connections[a])) for a in ("default", "replica")
        }
        yield seen
    for alias, ctx in contexts.items():
        seen[alias] = [q["sql"] for q in ctx.captured_queries]


def app_reads(sqls: list[str]) -> list[str]:
    """The statements that read the app's data (not the session and user lookups of every request)."""
    reads = ("SELECT", "WITH", "DECLARE")  # DECLARE: a PostgreSQL server-side cursor (a streamed export)
    return [s for s in sqls if s.lstrip().upper().startswith(reads) and any(t in s for t in APP_TABLES)]


@pytest.fixture
def admin(db):
    from accounts.models import Role

    return UserFactory(email="boss@example.com", role=Role.ADMIN, is_staff=True)


@pytest.fixture
def data(admin):
    customer = CustomerFactory(external_id="R-1", name="Replica Corp")
    MrrEntry.objects.create(customer=customer, effective_date=dt.date(2025, 1, 1), mrr=100)
    return customer


DASHBOARD_URLS = [
    ("home", {}),
    ("home", {"format": "csv", "table": "renewals"}),
    ("trends", {}),
    ("trends", {"format": "csv", "table": "retention"}),
    ("team", {}),
    ("team", {"format": "csv"}),
    ("revenue", {}),
    ("revenue", {"format": "csv", "table": "months"}),
    ("revenue_customers", {"start": "2025-01-01", "end": "2025-03-31", "metric": "new"}),
    ("renewals", {}),
    ("api_metrics_team", {"start": "2025-01-01", "end": "2025-03-31"}),
    ("api_metrics_revenue", {"start": "2025-01-01", "end": "2025-03-31"}),
    ("api_metrics_renewals", {"start": "2025-01-01", "end": "2025-03-31"}),
    ("api_metrics_support", {"start": "2025-01-01", "end": "2025-03-31"}),
]


def _get(client, name: str, params: dict) -> bytes:
    response = client.get(reverse(name), params)
    assert response.status_code == 200, (name, response.status_code)
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(("name", "params"), DASHBOARD_URLS)
def test_dashboard_pages_apis_and_exports_read_from_the_replica(replica, admin, data, name, params):
    client = client_for(admin)
    with queries_by_alias() as seen:
        _get(client, name, params)
    assert app_reads(seen["replica"]), f"{name} read nothing from the replica"
    assert app_reads(seen["default"]) == []


def test_the_engagement_api_reads_from_the_replica(replica, admin, data):
    with queries_by_alias() as seen:
        _get(client_for(admin), "api_metrics_engagement", {"customer": "R-1", "as_of": "2025-03-31"})
    assert app_reads(seen["replica"])
    assert app_reads(seen["default"]) == []


def test_a_streamed_book_export_reads_its_rows_from_the_replica(replica, admin, data):
    client = client_for(admin)
    with queries_by_alias() as seen:
        response = client.get(reverse("book"), {"format": "csv"})
        rows = read_csv(b"".join(response.streaming_content))
    assert [r[rows[0].index("customer")] for r in rows[1:]] == ["Replica Corp"]
    assert any("accounts_customer" in s for s in seen["replica"])


def test_who_is_signed_in_is_read_from_the_primary(replica, admin, data):
    with queries_by_alias() as seen:
        _get(client_for(admin), "home", {})
    assert any("django_session" in s for s in seen["default"])
    assert not any("django_session" in s for s in seen["replica"])


def test_pages_outside_the_scope_read_from_the_primary(replica, admin, data):
    client = client_for(admin)
    with queries_by_alias() as seen:
        _get(client, "book", {})
    assert app_reads(seen["default"])
    assert seen["replica"] == []


def test_writes_go_to_the_primary_and_later_reads_in_the_scope_follow(replica, data):
    with queries_by_alias() as seen, reads_from_replica():
        assert read_alias() == "replica"
        assert Customer.objects.count() == 1  # replica
        Customer.objects.filter(pk=data.pk).update(name="Renamed")  # primary
        assert read_alias() == DEFAULT_DB_ALIAS
        assert Customer.objects.get(pk=data.pk).name == "Renamed"  # primary: read-your-writes
    assert [s for s in seen["replica"] if "UPDATE" in s] == []
    assert any(s.startswith("UPDATE") for s in seen["default"])
    assert len(app_reads(seen["replica"])) == 1
    assert len(app_reads(seen["default"])) == 1


def test_a_save_of_an_object_read_from_the_replica_writes_to_the_primary(replica, data):
    with reads_from_replica():
        customer = Customer.objects.get(pk=data.pk)
        assert customer._state.db == "replica"
        customer.name = "Saved"
        with queries_by_alias() as seen:
            customer.save()
    assert any(s.startswith("UPDATE") for s in seen["default"])
    assert seen["replica"] == []
    assert Customer.objects.get(pk=data.pk).name == "Saved"


def test_reads_inside_a_primary_transaction_stay_on_the_primary(replica, data):
    with reads_from_replica(), transaction.atomic():
        assert read_alias() == DEFAULT_DB_ALIAS
        assert reader().alias == DEFAULT_DB_ALIAS
        with queries_by_alias() as seen:
            assert Customer.objects.count() == 1
    assert seen["replica"] == []


def test_raw_sql_reads_follow_the_scope(replica, data):
    assert reader().alias == DEFAULT_DB_ALIAS
    with reads_from_replica():
        assert reader().alias == "replica"
    assert reader().alias == DEFAULT_DB_ALIAS


def test_a_nested_scope_keeps_the_outer_scopes_write(replica, data):
    with reads_from_replica():
        CustomerFactory(external_id="R-2")
        with reads_from_replica():
            assert read_alias() == DEFAULT_DB_ALIAS


def test_iterating_from_the_replica_holds_the_scope_only_while_fetching(replica, data):
    aliases = []

    def rows():
        for _ in range(2):
            aliases.append(read_alias())
            yield 1

    for _ in iterate_from_replica(rows()):
        aliases.append(("between", read_alias()))
    assert aliases == ["replica", ("between", "default"), "replica", ("between", "default")]


def test_without_a_replica_everything_uses_the_primary(settings, admin, data):
    settings.CSHUB_REPLICA_ALIAS = ""
    with queries_by_alias() as seen:
        _get(client_for(admin), "home", {})
        _get(client_for(admin), "team", {"format": "csv"})
        with reads_from_replica():
            assert read_alias() == DEFAULT_DB_ALIAS
    assert seen["replica"] == []
    assert app_reads(seen["default"])


def test_migrations_run_only_on_the_primary():
    router = ReplicaRouter()
    assert router.allow_migrate("default", "accounts")
    assert not router.allow_migrate("replica", "accounts")
    assert router.db_for_write(Customer) == DEFAULT_DB_ALIAS


@contextmanager
def replica_unreachable() -> Iterator[None]:
    """The replica alias pointed at a database that refuses connections (a closed port; for SQLite, a file in
    a directory that does not exist), then restored."""
    connection = connections["replica"]
    saved = dict(connection.settings_dict)
    connection.close()
    kept = None
    if connection.vendor == "sqlite":
        # close() keeps an in-memory test database open; set it aside so the next use connects afresh
        kept, connection.connection = connection.connection, None
        connection.settings_dict["NAME"] = "/nonexistent-cshub-dir/replica.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    replica_retry_now()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        if kept is not None:
            connection.connection = kept
        replica_retry_now()


def test_an_unreachable_replica_leaves_the_pages_on_the_primary(replica, admin, data):
    client = client_for(admin)
    with replica_unreachable():
        with CaptureQueriesContext(connections["default"]) as primary:  # the replica's would connect
            _get(client, "home", {})  # (its figures may come from the cache an earlier test filled)
            _get(client, "revenue", {"format": "csv", "table": "months"})
            with reads_from_replica():
                assert read_alias() == DEFAULT_DB_ALIAS
                assert Customer.objects.count() == 1
        assert app_reads([q["sql"] for q in primary.captured_queries])
        assert connections["replica"].connection is None  # so nothing was read from it
        started = core_db._down_until
        assert started > 0
        _get(client, "team", {})
        assert core_db._down_until == started, "no second attempt within REPLICA_RETRY_SECONDS"
        health = client.get("/healthz/")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "replica": "unreachable"}
    with queries_by_alias() as seen:
        _get(client, "home", {})
    assert app_reads(seen["replica"])
    assert app_reads(seen["default"]) == []
    assert client.get("/healthz/").json() == {"status": "ok", "replica": "ok"}


def test_without_a_replica_healthz_says_nothing_of_one(settings, admin):
    settings.CSHUB_REPLICA_ALIAS = ""
    assert client_for(admin).get("/healthz/").json() == {"status": "ok"}
