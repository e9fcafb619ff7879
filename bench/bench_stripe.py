"""The Stripe backfill at scale (issue 18's target), on PostgreSQL.

`manage.py sync_stripe`'s code path (integrations.stripe_billing.sync.stripe_sync) reads 10,000 customers
and 15,000 subscriptions through the `stripe` library's auto-paging (100 a page) from the local fake of
Stripe's list endpoints (bench/fake_stripe.py, in a process of its own so it does not share this one's
interpreter), and writes customers, subscription versions and the MRR ledger.      target <= 60 s

The subscriptions mix the rules of docs/integrations.md#mrr-rules: monthly, yearly, every 2 weeks, graduated
and volume tiers, percent and amount-off discounts, converted trials, cancellations at period end. A second
run, which must write nothing, is timed too.

Creates (drops and recreates) its own database, `cshub_bench_stripe` by default, on DATABASE_URL's server.
Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub REDIS_URL=redis://127.0.0.1:6379/5 \\
       python bench/run.py stripe
Env: BENCH_DB, BENCH_STRIPE_CUSTOMERS (10000), BENCH_STRIPE_SUBSCRIPTIONS (15000).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from multiprocessing import Event, Process, Queue
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CUSTOMERS = int(os.environ.get("BENCH_STRIPE_CUSTOMERS", "10000"))
SUBSCRIPTIONS = int(os.environ.get("BENCH_STRIPE_SUBSCRIPTIONS", "15000"))
TARGET_S = 60.0
KEY = "rk_bench_stripe"


def make_objects() -> tuple[list[dict], list[dict]]:
    from tests.integrations import stripe_fixtures as fx

    customers = [
        fx.customer(f"cus_{i:06d}", f"Stripe customer {i}", created=fx.ts("2024-01-01") + i)
        for i in range(CUSTOMERS)
    ]
    shapes = [
        lambda n: [(fx.price(5000 + n % 7 * 100), 1 + n % 5)],
        lambda n: [(fx.price(120000, interval="year"), 1)],
        lambda n: [(fx.price(1000, interval="week", count=2), 3)],
        lambda n: [
            (fx.price(None, billing_scheme="tiered", tiers_mode="graduated", tiers=fx.TIERS), 4 + n % 20)
        ],
        lambda n: [
            (fx.price(None, billing_scheme="tiered", tiers_mode="volume", tiers=fx.TIERS), 4 + n % 20)
        ],
        lambda n: [(fx.price(3000), 2), (fx.price(24000, interval="year"), 1)],
    ]
    subs = []
    for n in range(SUBSCRIPTIONS):
        start = f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}"
        sub = fx.subscription(
            f"sub_{n:06d}", f"cus_{n % CUSTOMERS:06d}", shapes[n % len(shapes)](n), start=start
        )
        sub["created"] += n  # distinct creation times, as Stripe's are
        if n % 10 == 1:
            sub["discounts"] = [fx.discount(f"di_{n}", percent_off=20, duration="forever", start=start)]
        elif n % 10 == 2:
            sub["discounts"] = [
                fx.discount(f"di_{n}", amount_off=1000, duration="repeating", start=start, end="2025-03-01")
            ]
        elif n % 10 == 3:
            sub["trial_end"] = sub["start_date"] + 14 * 86400
        elif n % 10 == 4:
            sub.update(
                cancel_at_period_end=True, cancel_at=fx.ts("2025-06-01"), canceled_at=fx.ts("2025-05-01")
            )
        subs.append(sub)
    return customers, subs


def serve(ready: Queue, stop: Event) -> None:
    from bench.fake_stripe import FakeStripe

    customers, subs = make_objects()
    with FakeStripe(customers=customers, subscriptions=subs, api_key=KEY) as fake:
        ready.put(fake.url)
        stop.wait()


def child() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from integrations.models import StripeSubscriptionVersion
    from integrations.stripe_billing.sync import stripe_sync
    from metrics.models import MrrEntry

    ready: Queue = Queue()
    stop = Event()
    server = Process(target=serve, args=(ready, stop), daemon=True)
    server.start()
    try:
        settings.STRIPE_API_BASE = ready.get(timeout=120)
        settings.STRIPE_API_KEY = KEY
        settings.CSHUB_CURRENCY = "usd"
        started, cpu = time.monotonic(), time.process_time()
        first = stripe_sync()
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        started = time.monotonic()
        second = stripe_sync()
        again = time.monotonic() - started
    finally:
        stop.set()
        server.join(timeout=10)
    ok = (
        first["seen"] == CUSTOMERS + SUBSCRIPTIONS
        and StripeSubscriptionVersion.objects.count() == SUBSCRIPTIONS
        and second["subscriptions"] == 0
        and second["ledger_rows"] == 0
    )
    verdict = "PASS" if ok and elapsed <= TARGET_S else "FAIL"
    print(
        f"  sync_stripe of {CUSTOMERS:,} customers / {SUBSCRIPTIONS:,} subscriptions from the local fake: "
        f"{elapsed:.1f} s ({first['customers']:,} customers, {first['subscriptions']:,} versions, "
        f"{MrrEntry.objects.count():,} ledger rows, {first['errors']} errors); target <= {TARGET_S:.0f} s -> "
        f"{verdict} (ratio {TARGET_S / elapsed:.2f}x)"
    )
    print(
        f"    this process used {cpu:.1f} s of CPU in those {elapsed:.1f} s (the library's paging thread and "
        f"the writes; the fake server and PostgreSQL run beside it on {os.cpu_count()} shared cores)"
    )
    print(
        f"    second run (idempotent): {again:.1f} s, {second['subscriptions']} versions and "
        f"{second['ledger_rows']} ledger rows written (load average now {os.getloadavg()[0]:.1f})"
    )
    return 0 if verdict == "PASS" else 1


def main() -> int:
    from bench.common import recreate_database

    if not os.environ.get("REDIS_URL"):
        # The ledger's dirty marks queue the live recompute on the broker; without one it would run inline.
        sys.exit("bench_stripe needs REDIS_URL (and DATABASE_URL pointing at PostgreSQL)")
    url = recreate_database(script="bench_stripe", default_name="cshub_bench_stripe")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "CSHUB_TESTING": "0",
        "DJANGO_SETTINGS_MODULE": "cshub.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "BENCH_STRIPE_CHILD": "1",
    }
    print(f"bench_stripe on {urlparse(url).path[1:]} (cpus: {os.cpu_count()})", flush=True)
    return subprocess.run(  # noqa: S603
        [sys.executable, __file__], env=env, cwd=ROOT, check=False, timeout=900
    ).returncode


if __name__ == "__main__":
    sys.exit(child() if os.environ.get("BENCH_STRIPE_CHILD") == "1" else main())
