"""Playbook trigger evaluation at scale, on PostgreSQL (issue 6's speed targets).

Creates (drops and recreates) a dedicated database, `cshub_bench_playbooks` by default, on the server of
DATABASE_URL; the migration installs the starter library (five playbooks, five triggers). Data, generated with
multi-row `INSERT … SELECT generate_series`:

- 100,000 customers over 10 CSMs (2 teams), renewal dates mostly beyond 90 days;
- 7 days of health snapshots per customer (700,000 rows); on the last day ~1.5 % enter red;
- 60 days of usage rollup, one row every 3 days per customer (2,000,000 rows); ~0.4 % drop ≥ 30 %;
- ~0.1 % of customers with a fresh NPS detractor answer; ~0.5 % renewing within 90 days.

Then it times what the nightly hook runs after the recompute — every trigger evaluated for the day, the runs
(with tasks, event log and the assignees' emails, eager and in memory here) created — and a second evaluation
(nothing new: idempotent), and counts the queries of the My tasks page with 50 and 500 open tasks.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py playbooks
Env: BENCH_DB (database name), BENCH_CUSTOMERS (100000).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database, setup_django  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "100000"))
TARGET_SECONDS = 60.0


def _sql(statement: str, params: list | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def generate(today) -> float:
    import datetime as dt

    from accounts.models import Customer, Role, Team, User
    from metrics.models import HealthModel

    t0 = time.perf_counter()
    managers = [
        User.objects.create_user(f"bench.manager{i}@example.com", role=Role.MANAGER) for i in range(2)
    ]
    csms = [User.objects.create_user(f"bench.csm{i}@example.com", role=Role.CSM) for i in range(10)]
    for i, manager in enumerate(managers):
        Team.objects.create(name=f"Bench team {i}", manager=manager).members.set(csms[i * 5 : i * 5 + 5])
    csm_ids = [u.pk for u in csms]
    # The ORM for customers (fills whatever fields Customer has); renewal in 91-1090 days, except every 200th.
    Customer.objects.bulk_create(
        (
            Customer(
                external_id=f"PB-{g:06d}",
                name=f"Bench customer {g}",
                segment=("Enterprise", "Mid-Market", "SMB")[g % 3],
                csm_id=csm_ids[g % 10],
                licenses=50,
                contract_start=dt.date(2023, 1, 1) + dt.timedelta(days=g % 300),
                go_live_date=dt.date(2023, 3, 1) + dt.timedelta(days=g % 300),
                renewal_date=today + dt.timedelta(days=(g % 89) + 1 if g % 200 == 0 else 91 + g % 1000),
                lifecycle_stage="adopting",
            )
            for g in range(1, CUSTOMERS + 1)
        ),
        batch_size=5000,
    )
    model = HealthModel.objects.current()
    # Seven days of snapshots; the last day: every 67th customer (~1.5 %) falls from yellow (45) to red (30).
    _sql(
        """
        INSERT INTO metrics_healthsnapshot (customer_id, date, score, band, model_id, components, computed_at)
        SELECT c.id, %s::date - d,
               CASE WHEN d = 0 AND c.id %% 67 = 0 THEN 30
                    WHEN c.id %% 67 = 0 THEN 45 ELSE 55 + c.id %% 40 END,
               CASE WHEN d = 0 AND c.id %% 67 = 0 THEN 'red'
                    WHEN c.id %% 67 = 0 OR 55 + c.id %% 40 < 70 THEN 'yellow' ELSE 'green' END,
               %s, '[]'::jsonb, now()
        FROM accounts_customer c CROSS JOIN generate_series(0, 6) d
        """,
        [today, model.pk],
    )
    # Usage: one row every 3 days for 60 days; every 250th customer (~0.4 %) uses 60 % less in the last
    # 30 days.
    _sql(
        """
        INSERT INTO metrics_usagedaily (customer_id, user_id, feature, day, events, quantity)
        SELECT c.id, 'u' || (d %% 7), 'reports', %s::date - d,
               CASE WHEN c.id %% 250 = 0 AND d < 30 THEN 4 ELSE 10 END,
               CASE WHEN c.id %% 250 = 0 AND d < 30 THEN 4 ELSE 10 END
        FROM accounts_customer c CROSS JOIN generate_series(0, 59, 3) d
        """,
        [today],
    )
    # NPS answers: every 1,000th customer (0.1 %) has a detractor answer from yesterday.
    _sql(
        """
        INSERT INTO accounts_contact (customer_id, email, name, title, created_at)
        SELECT c.id, 'contact' || c.id || '@bench.example', '', '', now()
        FROM accounts_customer c WHERE c.id %% 1000 = 0
        """
    )
    _sql(
        """
        INSERT INTO surveys_response
            (customer_id, contact_id, contact_email, kind, score, comment, answered_at)
        SELECT k.customer_id, k.id, k.email, 'nps', 3, 'Too slow.', now() - interval '1 day'
        FROM accounts_contact k WHERE k.email LIKE '%%@bench.example'
        """
    )
    for table in ("accounts_customer", "metrics_healthsnapshot", "metrics_usagedaily", "surveys_response"):
        _sql(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - t0


def inbox_queries(tasks: int) -> tuple[int, float]:
    """Render My tasks for a CSM with `tasks` open tasks: (queries, seconds)."""
    import datetime as dt

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import Customer, Role, User
    from playbooks.models import Playbook, Run, Task

    user = User.objects.create_user(f"bench.inbox{tasks}@example.com", role=Role.CSM)
    customers = list(Customer.objects.order_by("pk")[: max(1, tasks // 5)])
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(csm=user)
    playbooks = [Playbook.objects.create(name=f"Inbox bench {tasks}-{i}") for i in range(5)]
    runs = Run.objects.bulk_create(
        Run(playbook=p, customer=c, assignee=user, reason="Bench") for c in customers for p in playbooks
    )
    today = timezone.localdate()
    Task.objects.bulk_create(
        Task(run=r, title=f"Task {i}", assignee=user, due_date=today + dt.timedelta(days=i % 9 - 3))
        for i, r in enumerate(runs[:tasks])
    )
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        response = client.get("/tasks/")
        seconds = time.perf_counter() - t0
    assert response.status_code == 200
    assert response.content.count(b'class="list__item task-row') == tasks
    return len(ctx), seconds


def main() -> None:
    os.environ.pop("REDIS_URL", None)  # eager tasks: the emails are part of the timing
    url = recreate_database(script="bench_playbooks", default_name="cshub_bench_playbooks")
    setup_django(url)
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail
    from django.utils import timezone

    from playbooks.evaluation import triggers_evaluate
    from playbooks.models import Run, Task

    today = timezone.localdate()
    print(f"database {urlparse(url).path.lstrip('/')}: generating {CUSTOMERS:,} customers …", flush=True)
    print(f"  data generated in {generate(today):.1f}s")

    mail.outbox = []
    t0 = time.perf_counter()
    result = triggers_evaluate(speed="all", today=today)
    first = time.perf_counter() - t0
    runs, tasks = Run.objects.count(), Task.objects.count()
    breaching = runs / CUSTOMERS
    print(f"nightly evaluation over {CUSTOMERS:,} customers: {first:.2f}s  (target ≤ {TARGET_SECONDS:.0f}s)")
    for label, count in sorted(result.started.items()):
        print(f"    {label}: {count:,} runs")
    print(f"  {runs:,} runs ({breaching:.1%} of customers), {tasks:,} tasks, {len(mail.outbox)} emails")
    t0 = time.perf_counter()
    again = triggers_evaluate(speed="all", today=today)
    second = time.perf_counter() - t0
    print(f"second evaluation (idempotent): {second:.2f}s, {again.total_started} new runs")
    t0 = time.perf_counter()
    fast = triggers_evaluate(speed="fast")
    print(f"5-minute fast sweep: {time.perf_counter() - t0:.2f}s, {fast.total_started} new runs")
    print(f"ratio first evaluation / target: {first / TARGET_SECONDS:.2f}")

    small_q, small_s = inbox_queries(50)
    big_q, big_s = inbox_queries(500)
    print(
        f"My tasks: 50 open tasks → {small_q} queries ({small_s * 1000:.0f} ms); "
        f"500 open tasks → {big_q} queries ({big_s * 1000:.0f} ms)"
    )
    print("constant query count: " + ("yes" if small_q == big_q else "NO"))


if __name__ == "__main__":
    main()
