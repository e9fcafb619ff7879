"""A second, different churn simulator: self-serve subscriptions whose churn follows what each account DOES,
with usage as the only signal (docs/health.md#backtest).

bench/simulate.py tells one story (a B2B book with seats, tickets, surveys and a CSM, churn from a hidden
latent health). This one tells another, so that a health model is not judged by the data of one story:

- Each account is one user on a plan (licenses 1: license utilization says nothing). There are no tickets,
  surveys, pulses, touchpoints or CSMs; only customers, the MRR ledger, usage events and key features.
- Eight behaviours with monthly rates drawn per account from a correlated log-normal: five wanted ones
  (post, comment, share, message, like — three of them configured as key features) and three unwanted
  ones (adview, dislike, unfriend). Busy accounts do more of everything, so the total volume says little;
  what predicts churn is the MIX: a utility that rises with the wanted behaviours and falls with the
  unwanted ones, as in behaviour-driven churn simulators.
- Each month the rates drift (mean-reverting), the utility is recomputed and a churn is drawn from
  base * exp(-utility + newness + noise). The rates are set to what the health issue measured on an
  external behaviour-driven population (not this one): about 7 % of accounts leave within their first
  month, about 1 % a month after three months, so new accounts churn several times as often and about half
  of the churners leave in their first two months.
  Usage continues unchanged up to the churn day (no fading before leaving), so only levels warn, not trends.
- Accounts arrive through the whole period (a third exist before it), so many are young at any as-of date.

Everything is drawn from one numpy Generator seeded with `seed`. Written with bench/simulate.py's `write`,
so the same tables, rollups and checksums.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

try:  # run as a script from bench/ (bench_health_model.py), or imported as bench.simulate_behaviour (tests)
    from simulate import SimSummary, _month_bounds, _Plan, write
except ImportError:
    from bench.simulate import SimSummary, _month_bounds, _Plan, write

BEHAVIOURS = ("post", "comment", "share", "message", "like", "adview", "dislike", "unfriend")
KEY = ("post", "comment", "share")
# Mean monthly count of each behaviour, and its sign in the utility (+ wanted, - unwanted).
MEAN_RATE = np.array([12.0, 18.0, 5.0, 30.0, 60.0, 70.0, 6.0, 1.5])
UTILITY = np.array([0.45, 0.35, 0.35, 0.25, 0.15, -0.35, -0.45, -0.55])
PLANS = (("Basic", 29.0, 0.5), ("Pro", 79.0, 0.35), ("Team", 199.0, 0.15))
BASE_CHURN = 0.004  # monthly, at utility 0 and after the first months (about 1 % on average with the spread)
# exp(newness) multiplies the month's hazard of an account in its first 30, 60 and 90 days (its tenure at the
# month's start; an account that starts during the month counts as in its first 30 days).
NEWNESS = ((30, np.log(8.0)), (60, np.log(4.0)), (90, np.log(2.0)))
FIRST_CHURN_DAY = 7  # an account can leave from its 8th day
ACTIVE_DAY_SHARE = (0.25, 0.9)  # share of days with any activity, per account (uniform)


def generate(*, customers: int, months: int, seed: int, end: dt.date, tz: ZoneInfo) -> _Plan:
    rng = np.random.default_rng(seed)
    bounds = _month_bounds(end, months)
    start = bounds[0][0]
    total_days = (end - start).days + 1
    n, k = customers, len(BEHAVIOURS)

    plan_of = rng.choice(len(PLANS), size=n, p=[p[2] for p in PLANS])
    existing = rng.random(n) < 1 / 3
    contract_start = np.where(
        existing, -rng.integers(60, 731, n), rng.integers(0, max(1, total_days - 10), n)
    )
    order = np.argsort(contract_start, kind="stable")
    plan_of, contract_start = plan_of[order], contract_start[order]

    # Correlated log-rates: a common "busyness" plus each behaviour's own taste.
    busy = rng.normal(0, 0.6, n)
    taste = rng.normal(0, 0.55, (n, k))
    z = busy[:, None] + taste  # deviation of log-rate from the mean
    active_share = rng.uniform(*ACTIVE_DAY_SHARE, n)

    churn_day = np.full(n, 10**6)
    mrr: list[tuple[int, dt.date, Decimal]] = []
    for i in range(n):
        mrr.append(
            (i, start + dt.timedelta(days=int(contract_start[i])), Decimal(f"{PLANS[plan_of[i]][1]:.2f}"))
        )

    parts: list[np.ndarray] = []
    for ms, me in bounds:
        lo_m, hi_m = (ms - start).days, (me - start).days
        alive = (contract_start <= hi_m) & (churn_day > lo_m)
        if lo_m > 0:
            z = 0.85 * z + 0.15 * (busy[:, None]) + rng.normal(0, 0.25, (n, k))
        tenure = hi_m - contract_start
        # Utility from the mix: the standardised taste (busyness cancels out of the balance).
        utility = (z - busy[:, None]) @ UTILITY * 2.0
        newness = np.zeros(n)
        for days, boost in reversed(NEWNESS):
            newness = np.where(lo_m - contract_start < days, boost, newness)
        hazard = BASE_CHURN * np.exp(-utility + newness + rng.normal(0, 0.5, n))
        can = alive & (tenure > FIRST_CHURN_DAY)
        churns = can & (rng.random(n) < 1 - np.exp(-hazard))
        first = np.maximum(lo_m, contract_start + FIRST_CHURN_DAY + 1)
        day = first + (rng.random(n) * np.maximum(hi_m - first + 1, 1)).astype(int)
        churn_day = np.where(churns, np.minimum(day, hi_m), churn_day)
        for i in np.flatnonzero(churns):
            mrr.append((int(i), start + dt.timedelta(days=int(churn_day[i])), Decimal("0.00")))

        # Usage, day by day, up to the churn: Poisson counts on the account's active days.
        lo = np.maximum(lo_m, contract_start)
        hi = np.minimum(hi_m, churn_day - 1)
        idx = np.flatnonzero(alive & (hi >= lo))
        span = hi[idx] - lo[idx] + 1
        n_active = rng.binomial(span, active_share[idx])
        cust = np.repeat(idx, n_active)
        offsets = np.concatenate(
            [rng.choice(s, a, replace=False) for s, a in zip(span, n_active, strict=True)]
        )
        days = lo[cust] + offsets.astype(int)
        rate = MEAN_RATE[None, :] * np.exp(z[cust]) / 30.0 / active_share[cust][:, None]
        counts = rng.poisson(rate)
        c_idx, f_idx = np.nonzero(counts)
        parts.append(
            np.stack([cust[c_idx], days[c_idx], np.zeros(len(c_idx), int), f_idx, counts[c_idx, f_idx]])
        )

    usage = np.concatenate(parts, axis=1) if parts else np.zeros((5, 0), int)
    order_u = np.lexsort((usage[3], usage[1], usage[0]))
    usage = usage[:, order_u]
    usage_cols = {
        "customer": usage[0],
        "day": usage[1],
        "user": usage[2],
        "feature": usage[3],
        "events": usage[4],
    }
    population = []
    for i in range(n):
        cs = start + dt.timedelta(days=int(contract_start[i]))
        age = total_days - 1 - int(contract_start[i])
        stage = "churned" if churn_day[i] < 10**6 else "onboarding" if age < 90 else "adopting"
        population.append(
            {
                "external_id": f"SIM-{i + 1:06d}",
                "name": f"Sim account {i + 1}",
                "segment": PLANS[plan_of[i]][0],
                "licenses": 1,
                "contract_start": cs,
                "go_live_date": cs,
                "renewal_date": None,
                "lifecycle_stage": stage,
                "csm": None,
            }
        )
    return _Plan(
        start,
        end,
        population,
        [],
        0,
        mrr,
        usage_cols,
        [],
        [],
        [],
        [],
        features=BEHAVIOURS,
        key_features=KEY,
    )


def simulate(*, customers: int, months: int = 12, seed: int = 0, end: dt.date) -> SimSummary:
    """Generate and write the population into the current database (external ids SIM-…)."""
    from django.conf import settings

    t0 = time.perf_counter()
    plan = generate(customers=customers, months=months, seed=seed, end=end, tz=ZoneInfo(settings.TIME_ZONE))
    return write(plan, seed=seed, months=months, seconds={"generate": time.perf_counter() - t0})
