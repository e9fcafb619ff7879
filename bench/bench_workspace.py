"""The CSM's workspace at scale, on PostgreSQL (issue 19): the top-bar search and the customer timeline.

Creates (drops and recreates) a dedicated database, `cshub_bench_workspace` by default, on the server of
DATABASE_URL, and fills it with `INSERT … SELECT generate_series` statements: 100,000 customers with
word-built names, 200,000 contacts, 600,000 touchpoints and 400,000 notes (1,000,000 texts of 8 to 20 words drawn
from a 600-word vocabulary with a skewed, Zipf-like frequency, so common words match tens of thousands of
rows and rare ones a few), plus, for the timeline, per customer: a 3-row MRR ledger, 6 health snapshots,
a ticket, a survey answer, a playbook run with a done task and an audit entry.

Then, through Django's test Client in process (full middleware, PostgreSQL; no network hop, so the figures
are server time):
- search: `GET /api/v1/search/?q=` over a mix of queries (a customer name prefix, an external id, a contact's
  email, a common word, a rare word, two words, a word nothing has), median and p95 overall and per query;
- timeline: `GET /api/v1/customers/<id>/timeline/` first page for random customers (every kind), and the
  same page through `core.timeline.timeline_page` alone; the query count of every request must not vary.

Targets: search p95 ≤ 100 ms; timeline first page ≤ 50 ms (p95) with a constant query count.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py workspace
Env: BENCH_WORKSPACE_DB (database name), BENCH_WORKSPACE_REUSE=1 (keep a filled database), BENCH_REQUESTS.
"""

# ruff: noqa: S608, S106, SIM905, E501 - generated SQL with our own table names; a throwaway benchmark database
from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_database, setup_django  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_WORKSPACE_CUSTOMERS", "100000"))  # smaller to try the script out
TOUCHPOINTS_PER_CUSTOMER = 6
NOTES_PER_CUSTOMER = 4
CSMS = 100
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
WARMUP = 5
TARGET_SEARCH_P95_MS = 100
TARGET_TIMELINE_MS = 50

# What CSMs write about; the first words are the most frequent (the draw below is skewed toward them).
DOMAIN = (
    "customer call renewal pricing discount contract sponsor champion onboarding training adoption usage "
    "dashboard report integration api export import migration datacenter security review legal procurement "
    "budget expansion upsell seats licenses invoice billing payment churn risk escalation ticket support bug "
    "feature request roadmap release beta feedback survey nps meeting qbr workshop demo trial pilot rollout "
    "deadline quarter planning executive stakeholder team manager admin sso permissions reporting analytics "
    "performance latency outage incident postmortem fix workaround documentation webinar success plan goals "
    "metrics kpi value milestone golive kickoff handover account renewal timeline decision approval signature"
).split()
FIRST = "Ada Ben Cleo Dan Eva Finn Gia Hugo Ines Jon Kai Lena Milo Nora Otto Pia Quin Rosa Sam Tara Uma Vic Wes Xia Yara Zed".split()
LAST = "Adams Baker Chen Diaz Evans Fischer Garcia Hansen Ito Jones Kim Lopez Meyer Novak Olsen Patel Quinn Rossi Smith Tanaka Ueda Vogel Weber Young Zhang".split()
NAME_A = "Acme Blue Cobalt Delta Ember Falcon Granite Harbor Indigo Juniper Kestrel Lumen Maple Nimbus Orchid Pioneer Quartz Raven Summit Tidal".split()
NAME_B = "Analytics Bank Cloud Dynamics Energy Foods Group Health Industries Labs Logistics Media Networks Partners Retail Robotics Software Systems Travel Works".split()


def _sql(statement: str, params: list | None = None) -> None:
    """Statements write modulo as %% always; without parameters it is sent as a plain %."""
    from django.db import connection

    with connection.cursor() as cursor:
        if params:
            cursor.execute(statement, params)
        else:
            cursor.execute(statement.replace("%%", "%"))


def _step(label: str, fn) -> None:
    t0 = time.perf_counter()
    fn()
    print(f"  {label:<58} {time.perf_counter() - t0:6.1f} s", flush=True)


def vocabulary() -> list[str]:
    """600 words: the domain words, then a long tail of rarer made-up product words."""
    tail = [f"{a.lower()}{b.lower()}" for a in NAME_A for b in NAME_B]
    return (DOMAIN + tail)[:600]


def generate() -> None:
    """The benchmark company. Deterministic: every value derives from the row number."""
    from django.db import connection
    from django.utils import timezone

    from accounts import search_sql
    from accounts.models import AuditEntry, Contact, Customer, Note, Role, Touchpoint, User
    from metrics.health.services import health_model_current
    from metrics.models import MrrEntry, Ticket
    from metrics.models.health import HealthSnapshot
    from metrics.services import mrr_ledger_relink
    from playbooks.models import Playbook, Run, Task
    from surveys.models import Response

    print(
        f"Generating {CUSTOMERS:,} customers and {CUSTOMERS * (TOUCHPOINTS_PER_CUSTOMER + NOTES_PER_CUSTOMER):,} touchpoints and notes …",
        flush=True,
    )
    User.objects.create_user("admin@bench.example", "bench", role=Role.ADMIN, full_name="Bench Admin")
    csms = User.objects.bulk_create(
        User(email=f"csm{i}@bench.example", full_name=f"CSM {i:03d}", role=Role.CSM, password="!")
        for i in range(CSMS)
    )
    csm_ids = [u.pk for u in csms]
    today = timezone.localdate()
    c, k = Customer._meta.db_table, Contact._meta.db_table
    t, n = Touchpoint._meta.db_table, Note._meta.db_table
    words = vocabulary()
    # The indexes are built once after the load (faster than keeping them current row by row).
    search_sql.uninstall(connection)

    def customers() -> None:
        _sql(
            f"""
            INSERT INTO {c} (external_id, name, segment, csm_id, licenses, lifecycle_stage, renewal_date,
                             health_band, created_at, updated_at)
            SELECT 'WS-' || lpad(i::text, 6, '0'),
                   (%s::text[])[1 + i %% 20] || ' ' || (%s::text[])[1 + (i / 20) %% 20] || ' ' || i,
                   (ARRAY['SMB', 'Mid-Market', 'Enterprise'])[1 + i %% 3], (%s::int[])[1 + i %% 100],
                   10 + i %% 90, 'adopting', %s::date + (i %% 400), '', now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [NAME_A, NAME_B, csm_ids, today, CUSTOMERS],
        )

    _step("customers", customers)

    def contacts() -> None:
        _sql(
            f"""
            INSERT INTO {k} (customer_id, email, name, title, created_at)
            SELECT c.id,
                   lower(f || '.' || l) || j || '@' || lower(split_part(c.name, ' ', 1)) || c.id || '.example',
                   f || ' ' || l, 'VP Operations', now()
            FROM {c} c, generate_series(1, 2) AS j,
                 LATERAL (SELECT (%s::text[])[1 + (c.id * 7 + j) %% 26] AS f,
                                 (%s::text[])[1 + (c.id * 13 + j * 5) %% 26] AS l) p
            """,
            [FIRST, LAST],
        )

    _step("contacts (2 per customer)", contacts)

    # A text of 8 to 20 words; word w of row r is vocabulary[600 * u^2] for a hash u in [0, 1): skewed to the
    # first words, so "customer" is in most texts and the tail words in a few hundred.
    text_sql = """
        array_to_string(ARRAY(
            SELECT (%s::text[])[1 + floor(600 * power(((hashint8(r * 64 + w) & 1048575) / 1048576.0), 2))::int]
            FROM generate_series(1, 8 + (r %% 13)) AS w), ' ')
    """

    def touchpoints() -> None:
        _sql(
            f"""
            INSERT INTO {t} (customer_id, author_id, kind, occurred_at, sentiment, summary, created_at)
            SELECT c.id, c.csm_id, (ARRAY['call', 'email', 'meeting', 'qbr'])[1 + j %% 4],
                   now() - ((c.id * 7 + j * 41) %% 700) * interval '1 day' - (c.id %% 1440) * interval '1 minute',
                   'neutral', {text_sql}, now()
            FROM {c} c, generate_series(1, %s) AS j, LATERAL (SELECT c.id * 10 + j AS r) x
            """,
            [words, TOUCHPOINTS_PER_CUSTOMER],
        )

    _step(f"touchpoints ({TOUCHPOINTS_PER_CUSTOMER} per customer)", touchpoints)

    def notes() -> None:
        _sql(
            f"""
            INSERT INTO {n} (customer_id, author_id, text, created_at, updated_at)
            SELECT c.id, c.csm_id, {text_sql},
                   now() - ((c.id * 11 + j * 29) %% 700) * interval '1 day', now()
            FROM {c} c, generate_series(1, %s) AS j, LATERAL (SELECT c.id * 10 + 7 + j AS r) x
            """,
            [words, NOTES_PER_CUSTOMER],
        )

    _step(f"notes ({NOTES_PER_CUSTOMER} per customer)", notes)

    def others() -> None:
        _sql(
            f"""
            INSERT INTO {MrrEntry._meta.db_table} (customer_id, effective_date, mrr, created_at, updated_at)
            SELECT id, %s::date - 700 + (id %% 30)::int, 50 + (id * 13) %% 900, now(), now() FROM {c}
            UNION ALL
            SELECT id, %s::date - 300 + (id %% 200)::int, 50 + (id * 17) %% 1100, now(), now() FROM {c}
            UNION ALL
            SELECT id, %s::date - 60 + (id %% 50)::int, 40 + (id * 19) %% 1300, now(), now() FROM {c}
            """,
            [today, today, today],
        )
        mrr_ledger_relink()
        model = health_model_current()
        _sql(
            f"""
            INSERT INTO {HealthSnapshot._meta.db_table} (customer_id, date, score, band, model_id, components, computed_at)
            SELECT c.id, %s::date - d * 7, s,
                   CASE WHEN s >= 70 THEN 'green' WHEN s >= 40 THEN 'yellow' ELSE 'red' END, %s, '[]', now()
            FROM {c} c, generate_series(0, 5) AS d, LATERAL (SELECT (c.id * 37 + d * 23) %% 100 AS s) x
            """,
            [today, model.pk],
        )
        _sql(
            f"""
            INSERT INTO {Ticket._meta.db_table} (external_id, customer_id, opened_at, priority, category, updated_at)
            SELECT 'T-' || id, id, now() - (id %% 300) * interval '1 day', 'normal', 'how-to', now() FROM {c}
            """
        )
        _sql(
            f"""
            INSERT INTO {Response._meta.db_table} (customer_id, contact_id, contact_email, kind, score, comment, answered_at)
            SELECT k.customer_id, k.id, k.email, 'nps', k.id %% 11, '', now() - (k.id %% 200) * interval '1 day'
            FROM {k} k WHERE k.id %% 2 = 0
            """
        )
        playbook = Playbook.objects.create(name="Bench rescue")
        _sql(
            f"""
            INSERT INTO {Run._meta.db_table} (playbook_id, customer_id, assignee_id, reason, key, reason_values,
                                              status, outcome_note, started_at)
            SELECT %s, id, csm_id, 'Health entered red', '', '{{}}', 'open', '', now() - (id %% 90) * interval '1 day'
            FROM {c}
            """,
            [playbook.pk],
        )
        _sql(
            f"""
            INSERT INTO {Task._meta.db_table} ("order", run_id, title, guidance, required_touchpoint_kind, assignee_id,
                                               due_date, status, note, completed_by_id, completed_at, assignee_pinned)
            SELECT 1, r.id, 'Call the sponsor', '', '', r.assignee_id, %s::date, 'done', '', r.assignee_id,
                   r.started_at + interval '1 day', false
            FROM {Run._meta.db_table} r
            """,
            [today],
        )
        _sql(
            f"""
            INSERT INTO {AuditEntry._meta.db_table} (at, actor_id, actor_label, action, object_type, object_id,
                                                     object_repr, customer_id, changes)
            SELECT now() - (id %% 100) * interval '1 day', csm_id, '', 'update', 'customer', id::text, name, id,
                   jsonb_build_object('licenses', jsonb_build_object('before', 10, 'after', licenses))
            FROM {c}
            """
        )

    _step("ledger, snapshots, tickets, answers, runs, tasks, audit", others)
    _step("search indexes (GIN, accounts/search_sql.py)", lambda: search_sql.install(connection))

    def analyze() -> None:
        for table in (
            c,
            k,
            t,
            n,
            "metrics_mrrentry",
            "metrics_healthsnapshot",
            "metrics_ticket",
            "surveys_response",
            "playbooks_run",
            "playbooks_task",
            AuditEntry._meta.db_table,
        ):
            _sql(f"VACUUM ANALYZE {table}")

    _step("VACUUM ANALYZE", analyze)


def _time(fn, n: int) -> tuple[list[float], list[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, counts = [], []
    for i in range(n):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t0) * 1000)
        counts.append(len(ctx.captured_queries))
    return times, counts


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]


def main() -> int:
    url, reused = open_database(
        script="bench_workspace",
        default_name="cshub_bench_workspace",
        db_env="BENCH_WORKSPACE_DB",
        reuse_env="BENCH_WORKSPACE_REUSE",
    )
    setup_django(url)
    from django.db import connection
    from django.test import Client

    from accounts.models import Contact, Customer, Note, Touchpoint, User
    from core.timeline import timeline_page

    if not reused:
        generate()
    admin = User.objects.get(email="admin@bench.example")
    client = Client()
    client.force_login(admin)
    print(
        f"\nData: {Customer.objects.count():,} customers, {Contact.objects.count():,} contacts, "
        f"{Touchpoint.objects.count():,} touchpoints, {Note.objects.count():,} notes."
    )
    print(
        f"PostgreSQL {connection.pg_version}; Django test Client in process. The machine is shared: "
        "figures are under whatever load the other users put on it.\n"
    )
    rng = random.Random(19)
    contact_email = Contact.objects.order_by("pk").values_list("email", flat=True)[
        Contact.objects.count() // 2
    ]
    queries = {
        "customer name prefix": ["acme anal", "granite lab", "summit", "pione", "harbor health"],
        "external id": ["WS-004211", "WS-099999", "WS-012345"],
        "contact email": [contact_email, "ines.tanaka"],
        "common word": ["customer", "renewal", "call"],
        "rare word": ["raventravel", "tidalworks", "quartzrobotics"],
        "two words": ["pricing discount", "migration datacenter", "sponsor escalation"],
        "no match": ["zzyzx"],
    }
    failed = False
    print(f"{'search (GET /api/v1/search/?q=)':<40} {'median':>8} {'p95':>8} {'queries':>8}")
    all_times: list[float] = []
    per_kind = max(REQUESTS // len(queries), 10)
    for label, qs in queries.items():
        for q in qs:  # warm each query's plan once
            assert client.get("/api/v1/search/", {"q": q}).status_code == 200
        times, counts = _time(
            lambda i, qs=qs: client.get("/api/v1/search/", {"q": qs[i % len(qs)]}), per_kind
        )
        all_times += times
        hits = client.get("/api/v1/search/", {"q": qs[0]}).json()
        found = sum(len(v) for v in hits.values())
        print(
            f"  {label:<38} {statistics.median(times):7.1f}  {_p95(times):7.1f}  {min(counts):>3}-{max(counts):<3}"
            f"  ({found} hits for {qs[0]!r})"
        )
        failed |= min(counts) != max(counts)
    p95 = _p95(all_times)
    ok = p95 <= TARGET_SEARCH_P95_MS
    failed |= not ok
    print(
        f"  {'all queries':<38} {statistics.median(all_times):7.1f}  {p95:7.1f}"
        f"           target p95 ≤ {TARGET_SEARCH_P95_MS} ms: {'OK' if ok else 'MISSED'}\n"
    )

    ids = list(Customer.objects.values_list("pk", "external_id"))
    sample = [ids[rng.randrange(len(ids))] for _ in range(REQUESTS + WARMUP)]
    for pk, _ in sample[:WARMUP]:
        timeline_page(pk)
    print(f"{'timeline first page':<40} {'median':>8} {'p95':>8} {'queries':>8}")
    times, counts = _time(lambda i: timeline_page(sample[WARMUP + i][0]), REQUESTS)
    sizes = {len(timeline_page(pk).entries) for pk, _ in sample[:20]}
    print(
        f"  {'core.timeline.timeline_page':<38} {statistics.median(times):7.1f}  {_p95(times):7.1f}  "
        f"{min(counts):>3}-{max(counts):<3}  (entries per page: {sorted(sizes)})"
    )
    failed |= min(counts) != max(counts)
    times, counts = _time(
        lambda i: client.get(f"/api/v1/customers/{sample[WARMUP + i][1]}/timeline/"), REQUESTS
    )
    ok = _p95(times) <= TARGET_TIMELINE_MS and min(counts) == max(counts)
    failed |= not ok
    print(
        f"  {'GET /api/v1/customers/<id>/timeline/':<38} {statistics.median(times):7.1f}  {_p95(times):7.1f}  "
        f"{min(counts):>3}-{max(counts):<3}  target p95 ≤ {TARGET_TIMELINE_MS} ms, constant queries: "
        f"{'OK' if ok else 'MISSED'}"
    )
    second = timeline_page(sample[0][0], limit=5)
    if second.next_cursor:
        times, _ = _time(lambda i: timeline_page(sample[WARMUP + i][0], before=second.next_cursor), REQUESTS)
        print(f"  {'a later page (before=cursor)':<38} {statistics.median(times):7.1f}  {_p95(times):7.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
