"""Backtest every health model version on a simulated population (bench/simulate.py), on PostgreSQL.

Drops and recreates its own database (BENCH_DB, default `cshub_bench_health_model`, on the server of
DATABASE_URL), migrates, simulates BENCH_SIM_CUSTOMERS customers (default 3000) over BENCH_SIM_MONTHS months
(default 12) with BENCH_SIM_SEED (default 0), then runs metrics.health.backtest for each HealthModel
version in the database over the monthly as-of dates from 60 days after the start (two months of usage
behind every score) to 30 days before the end (the 30-day labels are complete), and prints one table per
version. Then it fits a model (metrics.health.fitting) on the first half of those as-of dates and backtests
the proposal beside the version in force on the second half only, so the fitted figures are out of sample.

The simulated population is not the held-out one: it is a sanity check that a model warns before churn
driven by hidden behaviour, not a target to tune against.

BENCH_SIM_KIND picks the simulator: `b2b` (bench/simulate.py, the default) or `behaviour`
(bench/simulate_behaviour.py: usage-only self-serve accounts whose churn follows the mix of what they do). For
each it also prints a reference the issue measured cshub against: a plain logistic regression on each
account's 30-day per-feature usage rates (log counts), grouped 5-fold CV by customer, on the same rows.

Then, unless BENCH_DAILY=0, it reads the second half again on every day (as a daily recompute would have
shown it) and prints the early warning on the exact day 30 days before each churn, of all churners and of
those paying then (a customer that signed up less than 30 days before leaving cannot be warned 30 days
ahead), and the alarm rate over all scored customer-days.

BENCH_REUSE=1 keeps a database an earlier run filled (same BENCH_DB, BENCH_SIM_* settings) and only backtests
and fits again.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cshub python bench/run.py health_model
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import open_database, setup_django  # noqa: E402

END = dt.date(2026, 6, 30)


def as_of_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The backtest's [start, end]: two months of usage behind the first as-of date, 30 days after the
    last."""
    return start + dt.timedelta(days=60), end - dt.timedelta(days=30)


def _f(value: float | None, places: int = 3) -> str:
    return "-" if value is None else f"{value:.{places}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def report_table(report, took: float) -> str:
    h = {r.horizon: r for r in report.horizons}
    h30 = h.get(30)
    ci = h30.auc_ci if h30 else None
    ew = report.early_warning
    lines = [
        f"model v{report.model_version}: {len(report.as_of_dates)} as-of dates "
        f"{report.as_of_dates[0]}..{report.as_of_dates[-1]}, {h30.rows if h30 else 0:,} customer-rows, "
        f"scored in {took:.1f} s",
        f"  AUC 30 d            {_f(h30.auc if h30 else None)}"
        + (f"  (95 % CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else ""),
        f"  AUC 60 d            {_f(h[60].auc if 60 in h else None)}",
        f"  AUC 90 d            {_f(h[90].auc if 90 in h else None)}",
        f"  early warning 30 d  {_pct(ew.share)}  ({ew.warned} of {ew.churners} churners red/yellow 30 days "
        f"before; {ew.unscored} unscored, {ew.not_paying} not paying; {_pct(ew.share_of_paying)} of the "
        "paying)",
        f"  alarm rate          {_pct(ew.alarm_rate)}  (scored customer-rows red or yellow)",
        f"  not enough data     {_pct(h30.not_enough_data_share if h30 else None)}",
    ]
    if h30:
        bands = ", ".join(
            f"{b} {r.rows:,} rows / churn {_pct(r.churn_rate)}" for b, r in h30.bands.items() if r.rows
        )
        lines.append(f"  30 d by band        {bands}")
        factors = ", ".join(f"{f.factor} {_f(f.auc, 2)}" for f in h30.factors)
        lines.append(f"  factor AUC 30 d     {factors}")
    return "\n".join(lines)


def main() -> None:
    url, kept = open_database(script="bench_health_model", default_name="cshub_bench_health_model")
    setup_django(url)
    if os.environ.get("BENCH_SIM_KIND", "b2b") == "behaviour":
        from simulate_behaviour import simulate
    else:
        from simulate import simulate
    from simulate import _month_bounds

    from metrics.health.backtest import collect, evaluate
    from metrics.health.engine import FactorConfig, ModelConfig
    from metrics.health.factors import load
    from metrics.health.fitting import fit_health_model
    from metrics.models import HealthModel

    customers = int(os.environ.get("BENCH_SIM_CUSTOMERS", "3000"))
    months = int(os.environ.get("BENCH_SIM_MONTHS", "12"))
    seed = int(os.environ.get("BENCH_SIM_SEED", "0"))
    if kept:  # BENCH_REUSE=1: the population an earlier run simulated with the same settings
        sim_start = _month_bounds(END, months)[0][0]
        print(f"reusing the simulated population in {url.rsplit('/', 1)[-1]} ({sim_start}..{END})")
    else:
        sim_start = simulate_and_report(simulate, customers=customers, months=months, seed=seed)
    start, end = as_of_range(sim_start, END)
    every = ModelConfig(factors=tuple(FactorConfig(k, 1.0, 0.0, 1.0) for k in load()))
    t0 = time.perf_counter()
    data = collect(every, start=start, end=end)
    print(f"collected {data.size:,} rows x {len(data.keys)} factors in {time.perf_counter() - t0:.1f} s")
    print(usage_rates_reference(data), flush=True)
    for model in HealthModel.objects.prefetch_related("factors").order_by("version"):
        t0 = time.perf_counter()
        report = evaluate(ModelConfig.of(model), data)
        print(report_table(report, time.perf_counter() - t0), flush=True)

    # Fit on the first half of the as-of dates, judge on the second half: the proposal never saw those rows.
    months_in_range = (end.year - start.year) * 12 + end.month - start.month + 1
    fit_end = add_months(start, months_in_range // 2 - 1)
    t0 = time.perf_counter()
    fit = fit_health_model(start=start, end=fit_end, seed=seed)
    weights = ", ".join(f"{f.key} {f.weight:g}" for f in fit.config.factors if f.enabled and f.weight)
    print(
        f"fitted on {start}..{fit_end} in {time.perf_counter() - t0:.1f} s: {fit.rows:,} rows, "
        f"{fit.churned_customers} churned customers, C={fit.c:g}, plain regression grouped-CV AUC "
        f"{_f(fit.cv_auc)} (60 d)\n  weights: {weights}\n  bands: green from {fit.config.green:g}, yellow "
        f"from {fit.config.yellow:g}"
    )
    judge_start = add_months(fit_end, 1)
    t0 = time.perf_counter()
    known = {f.key for f in every.factors}
    extra = tuple(FactorConfig(f.key, 1.0, 0.0, 1.0) for f in fit.config.factors if f.key not in known)
    judge = collect(replace(every, factors=every.factors + extra), start=judge_start, end=end)
    held = evaluate(fit.config, judge)
    print(report_table(held, time.perf_counter() - t0).replace(f"model v{held.model_version}", "fitted"))
    in_force = ModelConfig.of(HealthModel.objects.prefetch_related("factors").current())
    print(report_table(evaluate(in_force, judge), 0.0), flush=True)
    train = collect(replace(every, factors=every.factors + extra), start=start, end=fit_end)
    print(factor_inputs_reference(train, judge), flush=True)
    if os.environ.get("BENCH_DAILY", "1") == "1":
        t0 = time.perf_counter()
        days = [judge_start + dt.timedelta(days=i) for i in range((end - judge_start).days + 1)]
        daily = collect(
            replace(every, factors=every.factors + extra), start=judge_start, end=end, as_of_dates=days
        )
        print(
            f"daily, as a nightly recompute shows it ({judge_start}..{end}, {daily.size:,} customer-days, "
            f"collected in {time.perf_counter() - t0:.1f} s):"
        )
        for label, config in (("fitted", fit.config), (f"v{in_force.version}", in_force)):
            print(
                f"  {label:<8}{daily_line(evaluate(config, daily, horizons=(30,), resamples=0))}", flush=True
            )
            print(f"  {'':<8}{with_margin_line(config, daily)}", flush=True)


def factor_inputs_reference(train, judge) -> str:
    """The yardstick of the issue's 'within 0.03': a plain logistic regression on the same factor inputs as
    the fit (every collected factor's raw value, missing values imputed with the training mean plus a
    missing indicator, standardised), trained on the fit's rows and judged on the held-back second half: the
    AUC (30 d) that an unconstrained model of these inputs reaches out of sample."""
    import numpy as np
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from metrics.health.backtest import auc

    x_train = np.where(train.excused, np.nan, train.raw)
    x_judge = np.where(judge.excused, np.nan, judge.raw)
    keep = ~np.isnan(x_train).all(axis=0)
    x_train, x_judge = x_train[:, keep], x_judge[:, keep]
    model = make_pipeline(
        SimpleImputer(add_indicator=True), StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)
    )
    model.fit(x_train, train.churn_in <= 30)
    value = auc(model.predict_proba(x_judge)[:, 1].tolist(), (judge.churn_in <= 30).tolist())
    return (
        f"reference: plain logistic regression on the same {int(keep.sum())} factor inputs, fitted on the "
        f"first half, judged on the second: AUC 30 d {_f(value)} on {judge.size:,} rows"
    )


def with_margin_line(config, daily) -> str:
    """The daily figures with the leave margin, as the stored bands are: each customer's band on a day follows
    from its score and its band of the grid's previous day (metrics.health.engine.band_with_hysteresis),
    starting from the plain band on its first day of the grid."""
    import numpy as np

    from metrics.health.backtest import score_rows
    from metrics.health.engine import band_with_hysteresis

    scores = score_rows(config, daily).score
    bands = np.empty(daily.size, dtype=object)
    previous: dict[int, str] = {}
    for r in np.lexsort((daily.customer, daily.day)):  # day by day
        c, s = int(daily.customer[r]), scores[r]
        band = band_with_hysteresis(
            None if np.isnan(s) else float(s),
            previous=previous.get(c) if previous.get(c) else None,
            green=config.green,
            yellow=config.yellow,
            margin=config.margin,
        )
        bands[r] = previous[c] = band
    alarm = np.isin(bands, ["red", "yellow"])
    scored = bands != ""
    rows = daily.warning_rows
    paying = rows[rows >= 0]
    warned = int(alarm[paying].sum())
    of_all = warned / rows.size if rows.size else None
    of_paying = warned / paying.size if paying.size else None
    return (
        f"with the leave margin {config.margin:g}: early warning {_pct(of_all)} of {rows.size}; "
        f"{_pct(of_paying)} of the {paying.size} paying; "
        f"alarm rate {_pct(alarm[scored].mean() if scored.any() else None)}"
    )


def daily_line(report) -> str:
    """Early warning on the exact day `lead` days before each churn, and the alarm rate over every scored
    customer-day: the figures of the health issue's 'Done when'."""
    ew = report.early_warning
    paying = ew.churners - ew.not_paying
    return (
        f"early warning {_pct(ew.share)} of {ew.churners} churners; {_pct(ew.share_of_paying)}"
        f" of the {paying} paying {ew.lead_days} days before; alarm rate {_pct(ew.alarm_rate)} of "
        f"{ew.scored_rows:,} scored customer-days"
    )


def simulate_and_report(simulate, *, customers: int, months: int, seed: int) -> dt.date:
    """Simulate the population, print what was written, return its first day."""
    t0 = time.perf_counter()
    summary = simulate(customers=customers, months=months, seed=seed, end=END)
    took = time.perf_counter() - t0
    print(
        f"simulated {summary.customers:,} customers x {months} months (seed {seed}) in {took:.1f} s "
        f"({', '.join(f'{k} {v:.1f} s' for k, v in summary.seconds.items())})"
    )
    print(
        f"  {summary.churned:,} churned; {summary.mrr_rows:,} MRR rows, {summary.usage_daily_rows:,} usage "
        f"rollup rows, {summary.usage_user_days:,} user-days, {summary.events:,} raw events, "
        f"{summary.tickets:,} tickets, {summary.nps_answers:,} NPS + {summary.csat_answers:,} CSAT answers, "
        f"{summary.pulses:,} pulses, {summary.touchpoints:,} touchpoints"
    )
    return summary.start


def usage_rates_reference(data) -> str:
    """AUC (30 d) of a plain logistic regression on 30-day per-feature usage counts (log1p), grouped 5-fold CV
    by customer, on the backtest's rows: what the usage alone can tell, without cshub's factors."""
    import numpy as np
    from django.db.models import Sum
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from metrics.health.backtest import auc
    from metrics.models import UsageDaily

    features = sorted(set(UsageDaily.objects.values_list("feature", flat=True).distinct()))
    col = {f: k for k, f in enumerate(features)}
    x = np.zeros((data.size, len(features) + 1))
    row_of = {(int(c), int(d)): r for r, (c, d) in enumerate(zip(data.customer, data.day, strict=True))}
    for d, day in enumerate(data.as_of_dates):
        rows = (
            UsageDaily.objects.filter(day__gt=day - dt.timedelta(days=30), day__lte=day)
            .values("customer_id", "feature")
            .annotate(n=Sum("events"))
            .order_by()
        )
        for r in rows:
            k = row_of.get((r["customer_id"], d))
            if k is not None:
                x[k, col[r["feature"]]] = r["n"]
    x = np.log1p(x)
    x[:, -1] = x[:, :-1].sum(axis=1) == 0  # no usage at all
    y = (data.churn_in <= 30).astype(int)
    scores = np.zeros(data.size)
    for train, test in GroupKFold(n_splits=5).split(x, y, groups=data.customer):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        model.fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    value = auc(scores.tolist(), y.astype(bool).tolist())
    return (
        f"reference: plain logistic regression on 30-day per-feature usage ({len(features)} features), "
        f"grouped 5-fold CV: AUC 30 d {_f(value)} on {data.size:,} rows"
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


if __name__ == "__main__":
    main()
