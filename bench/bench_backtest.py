"""The health backtest at scale (issue: 100,000 customers x 12 monthly as-of dates within 2 minutes), on
PostgreSQL.

Simulates BENCH_SIM_CUSTOMERS customers (default 100,000) over 14 months with bench/simulate.py into its own
database (BENCH_DB, default `cshub_bench_backtest`; BENCH_REUSE=1 keeps an existing one), then times, over the
12 month starts that have two months of usage behind them:

- the nightly snapshots of those dates, if missing (an install that recomputes nightly has them; the
  simulator does not write them), timed;
- `collect` (every registered factor as of each date: the stored snapshots where they hold it, the rest
  read as the recompute reads; BENCH_FRESH=1 reads everything afresh) with 1 and with
  CSHUB_BACKTEST_WORKERS (default 2) dates at once, checking both give the same rows;
- `evaluate` of the model in force (scoring, per-horizon tables, 200 bootstrap resamples per horizon);
- and prints rows per second and the share of the collection spent waiting on PostgreSQL.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py backtest
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import recreate_database, setup_django  # noqa: E402

END = dt.date(2026, 6, 30)
MONTHS = 14


def _existing(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return bool(conn.execute("SELECT count(*) FROM accounts_customer").fetchone()[0])
    except psycopg.Error:
        return False


def main() -> None:
    from urllib.parse import urlparse, urlunparse

    name = os.environ.get("BENCH_DB", "cshub_bench_backtest")
    base = os.environ.get("DATABASE_URL", "")
    url = urlunparse(urlparse(base)._replace(path=f"/{name}")) if base else ""
    reuse = os.environ.get("BENCH_REUSE") == "1" and url and _existing(url)
    if not reuse:
        url = recreate_database(script="bench_backtest", default_name=name)
    setup_django(url)
    from django.db import connection
    from simulate import simulate

    from metrics.health.backtest import collect, evaluate, month_starts
    from metrics.health.engine import FactorConfig, ModelConfig
    from metrics.health.factors import load
    from metrics.health.services import health_recompute
    from metrics.models import HealthModel, HealthSnapshot

    customers = int(os.environ.get("BENCH_SIM_CUSTOMERS", "100000"))
    if not reuse:
        t0 = time.perf_counter()
        summary = simulate(customers=customers, months=MONTHS, seed=0, end=END)
        print(
            f"simulated {summary.customers:,} customers x {MONTHS} months in "
            f"{time.perf_counter() - t0:.0f} s: {summary.mrr_rows:,} MRR rows, "
            f"{summary.usage_daily_rows:,} usage rollup rows"
        )
    start = END.replace(day=1)
    for _ in range(11):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    every = ModelConfig(factors=tuple(FactorConfig(k, 1.0, 0.0, 1.0) for k in load()))
    dates = month_starts(start, END)
    missing = [d for d in dates if not HealthSnapshot.objects.filter(date=d).exists()]
    if missing:  # an install that recomputes nightly has these; the simulator does not write them
        t0 = time.perf_counter()
        for day in missing:
            health_recompute(day=day, run_hooks=False, denormalise=False)
        print(f"recomputed the snapshots of {len(missing)} as-of dates in {time.perf_counter() - t0:.0f} s")
    if os.environ.get("BENCH_FRESH") == "1":
        runs = [(1, False), (int(os.environ.get("CSHUB_BACKTEST_WORKERS", "2")), False)]
    else:
        runs = [(1, True), (int(os.environ.get("CSHUB_BACKTEST_WORKERS", "2")), True)]
    results = {}
    for workers, snapshots in runs:
        queries_before = len(connection.queries)
        t0 = time.perf_counter()
        data = collect(every, start=start, end=END, workers=workers, snapshots=snapshots)
        took = time.perf_counter() - t0
        results[workers] = data
        print(
            f"collect ({'stored snapshots first' if snapshots else 'fresh reads'}), {workers} date(s) "
            f"at once: "
            f"{took:.1f} s for {data.size:,} customer-rows x "
            f"{len(data.keys)} factors over {len(data.as_of_dates)} as-of dates "
            f"({data.size / took:,.0f} rows/s; "
            f"{len(connection.queries) - queries_before} queries on this thread)",
            flush=True,
        )
    import numpy as np

    one, many = results.values()
    same = np.array_equal(one.customer, many.customer) and np.array_equal(
        np.nan_to_num(one.raw, nan=-1.0), np.nan_to_num(many.raw, nan=-1.0)
    )
    print(f"same rows either way: {same}")
    model = ModelConfig.of(HealthModel.objects.prefetch_related("factors").current())
    t0 = time.perf_counter()
    report = evaluate(model, many)
    took = time.perf_counter() - t0
    h30 = report.horizons[0]
    print(
        f"evaluate v{model.version} (3 horizons, {report.resamples} bootstrap resamples each): {took:.1f} s; "
        f"AUC 30 d {h30.auc:.3f}, early warning {report.early_warning.share:.1%}, "
        f"alarm rate {report.early_warning.alarm_rate:.1%}"
    )


if __name__ == "__main__":
    main()
