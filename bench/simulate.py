"""A seeded B2B churn simulator: a realistic customer population written into the current database, for
backtesting health models (bench/bench_health_model.py, docs/health.md#backtest).

Churn is NOT caused by cshub's factor formulas. Each customer carries hidden state that the database never
sees: a latent health (a monthly random walk around the customer's own mean, with shocks such as a champion
leaving), a separate support-pain level, a budget pressure (funding cuts the product cannot observe) and a
contract anniversary. The observable data (usage rollups, tickets, NPS/CSAT answers, CSM pulses and
touchpoints, seat changes in the MRR ledger) are generated from that hidden state with noise and, for the CSM,
with a month's lag. Each month a churn hazard is drawn from a hidden mix of the latent health, a recent
contraction, the realised usage decline, support pain, budget pressure, tenure (young customers churn more),
the renewal month and pure noise; a churn writes an MRR row of 0 and ends all activity.

Volume: usage is stored at the granularity the health factors read, one UsageDaily row per (user, day,
feature) on a user's active days (a few a month), the UsageUserDay rollup is built from it in SQL, and raw
UsageEvent rows are written only for the last 7 days (consistent with the rollups there). Everything is drawn
from one numpy Generator seeded with `seed`: the same arguments give the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

FEATURES = ["reports", "dashboards", "alerts", "export", "api", "sso", "mobile", "integrations"]
KEY_FEATURES = FEATURES[:5]
RAW_EVENT_DAYS = 7  # raw UsageEvent rows for the last week only (the rollups cover the whole period)


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    seats_median: float
    seats_min: int
    seats_max: int
    price: float  # $ per seat per month
    base_churn: float  # monthly, before the hidden mix
    contacts: tuple[int, int]
    csm_covered: float  # share of customers with a named CSM
    pulse_prob: float  # chance of a pulse in a month (covered customers)
    touch_rate: float  # touchpoints a month (covered customers)
    util_offset: float  # license utilization level on the logit scale


SEGMENTS = (
    Segment("SMB", 0.55, 10, 3, 40, 45.0, 0.020, (1, 3), 0.35, 0.25, 0.5, 0.0),
    Segment("Mid-Market", 0.33, 40, 15, 150, 60.0, 0.011, (2, 5), 1.0, 0.5, 1.5, -0.2),
    Segment("Enterprise", 0.12, 120, 60, 400, 75.0, 0.006, (3, 7), 1.0, 0.8, 3.0, -0.4),
)
# The hidden mix's offset: sets the overall churn level (~2 % of paying customers a month).
CHURN_OFFSET = 1.4


@dataclass
class SimSummary:
    customers: int
    churned: int
    months: int
    start: dt.date
    end: dt.date
    mrr_rows: int
    usage_daily_rows: int
    usage_user_days: int
    events: int  # raw UsageEvent rows (last RAW_EVENT_DAYS days)
    tickets: int
    nps_answers: int
    csat_answers: int
    pulses: int
    touchpoints: int
    contacts: int
    csms: int
    checksum: str  # of everything generated (customers, ledger, usage, tickets, answers, pulses, touchpoints)
    seconds: dict[str, float] = field(default_factory=dict)


def _month_bounds(end: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    first = end.replace(day=1)
    starts = []
    y, m = first.year, first.month
    for _ in range(months):
        starts.append(dt.date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    starts.reverse()
    bounds = []
    for i, s in enumerate(starts):
        e = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else end
        bounds.append((s, e))
    return bounds


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class _Plan:
    """Everything generated, as plain rows with customer *indexes* (ids are assigned when written)."""

    start: dt.date
    end: dt.date
    customers: list[dict]
    contacts: list[tuple[int, str, str]]  # (customer index, email, name)
    csms: int
    mrr: list[tuple[int, dt.date, Decimal]]
    usage: dict[str, np.ndarray]  # customer, day (index from start), user, feature, events
    tickets: list[tuple]  # (customer, external_id, opened_at, resolved_at, priority, fcr, category)
    answers: list[tuple]  # (customer, contact index, kind, score, answered_at)
    pulses: list[tuple]  # (customer, csm index or None, score, created_at)
    touchpoints: list[tuple]  # (customer, csm index or None, kind, occurred_at, sentiment, summary)
    features: tuple[str, ...] = tuple(FEATURES)  # usage["feature"] indexes these
    key_features: tuple[str, ...] = tuple(KEY_FEATURES)


def generate(*, customers: int, months: int, seed: int, end: dt.date, tz: ZoneInfo) -> _Plan:
    """The whole population and its history, without touching the database."""
    rng = np.random.default_rng(seed)
    bounds = _month_bounds(end, months)
    start = bounds[0][0]
    total_days = (end - start).days + 1
    n = customers

    def at(day_index: int, seconds: int) -> dt.datetime:
        d = start + dt.timedelta(days=int(day_index))
        return dt.datetime(d.year, d.month, d.day, tzinfo=tz) + dt.timedelta(seconds=int(seconds))

    # --- The population ---------------------------------------------------------------------------------
    seg = rng.choice(len(SEGMENTS), size=n, p=[s.share for s in SEGMENTS])
    median = np.array([SEGMENTS[s].seats_median for s in seg])
    seats = np.clip(
        np.round(median * np.exp(rng.normal(0, 0.45, n))),
        [SEGMENTS[s].seats_min for s in seg],
        [SEGMENTS[s].seats_max for s in seg],
    ).astype(int)
    price = np.array([SEGMENTS[s].price for s in seg]) * np.exp(rng.normal(0, 0.15, n))
    # 75 % were customers before the period (tenure up to 4 years), the rest arrive during it.
    existing = rng.random(n) < 0.75
    contract_start = np.where(
        existing, -rng.integers(30, 1461, n), rng.integers(0, max(1, total_days - 20), n)
    )  # day index from `start`
    order = np.argsort(contract_start, kind="stable")  # external ids in order of arrival
    seg, seats, price, existing, contract_start = (
        seg[order],
        seats[order],
        price[order],
        existing[order],
        contract_start[order],
    )
    mu = rng.normal(0.3, 0.6, n)  # each customer's own long-run health
    h = mu + rng.normal(0, 0.5, n) - np.where(existing, 0.0, 0.5)  # new customers start lower (onboarding)
    pain_mu = rng.normal(0, 0.5, n)
    pain = pain_mu + rng.normal(0, 0.4, n)
    budget = rng.normal(0, 0.4, n)
    champion = rng.random(n) < 0.8
    adopt_bias = rng.normal(0, 0.7, n)
    key_order = np.argsort(rng.random((n, len(KEY_FEATURES))), axis=1)  # which key features come first
    covered = rng.random(n) < np.array([SEGMENTS[s].csm_covered for s in seg])
    n_csms = max(1, n // 60)
    csm_of = np.where(covered, rng.integers(0, n_csms, n), -1)
    contact_counts = np.array(
        [rng.integers(SEGMENTS[s].contacts[0], SEGMENTS[s].contacts[1] + 1) for s in seg]
    )
    contacts: list[tuple[int, str, str]] = []
    contacts_of: list[list[int]] = []
    for i in range(n):
        mine = []
        for k in range(int(contact_counts[i])):
            mine.append(len(contacts))
            contacts.append((i, f"contact{k + 1}@sim{i + 1:06d}.example.com", f"Contact {k + 1}"))
        contacts_of.append(mine)
    contact_bias = rng.normal(0, 1.0, len(contacts))
    survey_month = rng.integers(0, 6, n)  # relationship NPS campaign: every 6 months, staggered

    mrr: list[tuple[int, dt.date, Decimal]] = []

    def money(i: int) -> Decimal:
        return Decimal(str(round(float(seats[i] * price[i]), 2)))

    for i in range(n):
        mrr.append((i, start + dt.timedelta(days=int(contract_start[i])), money(i)))

    churn_day = np.full(n, 10**6)  # day index of the churn (10**6: none)
    last_contraction = np.full(n, -99)  # month index
    util_hist = np.full((months, n), np.nan)
    usage_parts: list[np.ndarray] = []
    tickets: list[tuple] = []
    answers: list[tuple] = []
    pulses: list[tuple] = []
    touchpoints: list[tuple] = []
    h_prev = h.copy()
    ticket_no = 0
    priorities = np.array(["low", "normal", "high", "urgent"])
    kinds = ["call", "meeting", "email", "qbr", "chat"]

    for m, (ms, me) in enumerate(bounds):
        lo_m, hi_m = (ms - start).days, (me - start).days
        ndays = hi_m - lo_m + 1
        alive = (contract_start <= hi_m) & (churn_day > lo_m)
        # --- hidden state drifts ------------------------------------------------------------------------
        if m:
            h_prev = h.copy()
            shock = rng.random(n)
            h = (
                0.85 * h
                + 0.15 * mu
                + rng.normal(0, 0.3, n)
                + np.where(shock < 0.05, rng.normal(-1.3, 0.5, n), 0.0)
                + np.where(shock > 0.975, rng.normal(0.8, 0.3, n), 0.0)
            )
        leaves = champion & (rng.random(n) < 0.02)
        h = h - np.where(leaves, 1.0, 0.0)
        champion = (champion & ~leaves) | (~champion & (rng.random(n) < 0.1))
        pain = (
            0.75 * pain + 0.25 * pain_mu + rng.normal(0, 0.35, n) + np.where(rng.random(n) < 0.05, 1.5, 0.0)
        )
        budget = 0.85 * budget + rng.normal(0, 0.25, n) + np.where(rng.random(n) < 0.03, 2.0, 0.0)
        tenure = hi_m - contract_start  # days, at the end of the month

        # --- seat changes (expansion / contraction), never in a customer's first month --------------------
        grown = alive & (tenure > 45)
        u = rng.random(n)
        p_exp = 0.035 * np.exp(0.6 * h - 0.5 * budget)
        p_con = 0.02 * np.exp(-0.6 * h + 0.7 * budget)
        change = np.where(u < p_exp, 1, np.where(u < p_exp + p_con, -1, 0)) * grown
        size = rng.uniform(0.1, 0.35, n)
        change_day = lo_m + rng.integers(0, ndays, n)

        # --- usage from the latent health ----------------------------------------------------------------
        util = _sigmoid(
            0.5 + 1.1 * h + np.array([SEGMENTS[s].util_offset for s in seg]) + rng.normal(0, 0.25, n)
        )
        util_hist[m] = np.where(alive, util, np.nan)
        decline = np.zeros(n)
        if m >= 2:
            decline = np.nan_to_num(np.clip(util_hist[m - 2] - util, 0, None), nan=0.0)
        renewal_month = ((hi_m - contract_start) % 365) < ndays

        # --- churn: the hidden mix -------------------------------------------------------------------------
        mix = (
            -1.0 * h
            + 0.9 * (m - last_contraction <= 3)
            + 3.0 * decline
            + 0.4 * pain
            + 0.8 * budget
            + np.where(tenure < 180, 0.8, np.where(tenure < 365, 0.4, 0.0))
            + 0.7 * renewal_month
            + rng.normal(0, 0.6, n)
        )
        hazard = np.array([SEGMENTS[s].base_churn for s in seg]) * np.exp(mix - CHURN_OFFSET)
        can_churn = alive & (tenure > 40)
        churns = can_churn & (rng.random(n) < 1 - np.exp(-hazard))
        day = np.maximum(lo_m, contract_start + 31) + (
            rng.random(n) * (hi_m - np.maximum(lo_m, contract_start + 31) + 1)
        ).astype(int)
        churn_day = np.where(churns, np.minimum(day, hi_m), churn_day)

        for i in np.flatnonzero(change):
            if churn_day[i] <= change_day[i] or change_day[i] <= contract_start[i]:
                continue
            delta = max(1, round(seats[i] * size[i]))
            if change[i] < 0:
                if seats[i] - delta < 1:
                    continue
                seats[i] -= delta
                last_contraction[i] = m
            else:
                seats[i] += delta
            mrr.append((int(i), start + dt.timedelta(days=int(change_day[i])), money(int(i))))
        for i in np.flatnonzero(churns):
            mrr.append((int(i), start + dt.timedelta(days=int(churn_day[i])), Decimal("0.00")))

        # Active window of each customer this month: [lo, hi]
        lo = np.maximum(lo_m, contract_start)
        hi = np.minimum(hi_m, churn_day - 1)
        ok = alive & (hi >= lo)
        idx = np.flatnonzero(ok)
        active = rng.binomial(seats[idx], util[idx])
        cust = np.repeat(idx, active)
        user = np.concatenate([np.arange(1, a + 1) for a in active]) if len(active) else np.zeros(0, int)
        lam = np.clip(np.exp(0.2 + 0.5 * h[cust]), 0.3, 6)
        days_used = 1 + rng.poisson(lam)
        cust = np.repeat(cust, days_used)
        user = np.repeat(user, days_used)
        span = hi[cust] - lo[cust] + 1
        uday = lo[cust] + (rng.random(len(cust)) * span).astype(int)
        per_day = 1 + (rng.random(len(cust)) < 0.25)
        cust, user, uday = (np.repeat(a, per_day) for a in (cust, user, uday))
        adopted = rng.binomial(len(KEY_FEATURES), _sigmoid(0.6 + 0.8 * h + adopt_bias))[cust]
        r = rng.random(len(cust))
        key_pick = key_order[
            cust, np.minimum((rng.random(len(cust)) * adopted).astype(int), len(KEY_FEATURES) - 1)
        ]
        feature = np.where(
            (adopted > 0) & (r < 0.75), key_pick, len(KEY_FEATURES) + rng.integers(0, 3, len(cust))
        )
        events = 1 + rng.poisson(2.0 * np.exp(0.3 * h[cust]))
        usage_parts.append(np.stack([cust, uday, user, feature, events]))

        # --- support tickets ----------------------------------------------------------------------------
        span_all = np.where(ok, hi - lo + 1, 0)
        rate = 0.25 * np.sqrt(seats) * np.exp(0.7 * pain - 0.3 * h) * span_all / ndays
        count = rng.poisson(np.where(ok, rate, 0))
        for i in np.flatnonzero(count):
            for _ in range(int(count[i])):
                ticket_no += 1
                pr = rng.random()
                urgent = 0.04 * np.exp(0.6 * pain[i])
                high = 0.15 * np.exp(0.4 * pain[i])
                p = 3 if pr < urgent else 2 if pr < urgent + high else 0 if pr > 0.75 else 1
                opened = at(lo[i] + rng.integers(0, span_all[i]), rng.integers(0, 86400))
                hours = float(np.exp(rng.normal(np.log(20) + 0.4 * pain[i] - 0.4 * (p == 3), 1.0)))
                resolved = opened + dt.timedelta(hours=hours)
                closed = resolved <= at((end - start).days + 1, 0)
                tickets.append(
                    (
                        int(i),
                        f"SIM-T{ticket_no:07d}",
                        opened,
                        resolved if closed else None,
                        str(priorities[p]),
                        bool(rng.random() < 0.5 * np.exp(-0.3 * pain[i])) if closed else None,
                        ["bug", "how-to", "billing", "integration"][int(rng.integers(0, 4))],
                    )
                )
                if closed and rng.random() < 0.35 and contacts_of[i]:
                    score = 3.6 + 0.5 * h[i] - 0.5 * pain[i] - 0.3 * np.log(hours / 24) + rng.normal(0, 1.0)
                    when = resolved + dt.timedelta(seconds=int(rng.integers(3600, 172800)))
                    if when < at((end - start).days + 1, 0):
                        c = contacts_of[i][int(rng.integers(0, len(contacts_of[i])))]
                        answers.append((int(i), c, "csat", int(np.clip(round(score), 1, 5)), when))

        # --- NPS: the half-yearly relationship survey, plus a few unsolicited answers ----------------------
        for i in idx:
            surveyed = survey_month[i] == m % 6
            for c in contacts_of[i]:
                if rng.random() < (0.35 if surveyed else 0.02):
                    score = 7.2 + 1.6 * h[i] + 0.5 * champion[i] + contact_bias[c] + rng.normal(0, 1.5)
                    when = at(lo[i] + rng.integers(0, span_all[i]), rng.integers(0, 86400))
                    answers.append((int(i), c, "nps", int(np.clip(round(score), 0, 10)), when))

        # --- the CSM: pulses (last month's health, noisy) and touchpoints ---------------------------------
        for i in idx:
            s = SEGMENTS[seg[i]]
            csm = int(csm_of[i]) if csm_of[i] >= 0 else None
            if csm is not None and rng.random() < s.pulse_prob:
                score = int(np.clip(round(3.2 + 0.9 * h_prev[i] + rng.normal(0, 0.7)), 1, 5))
                pulses.append(
                    (int(i), csm, score, at(lo[i] + rng.integers(0, span_all[i]), rng.integers(0, 86400)))
                )
            rate_t = (s.touch_rate if csm is not None else 0.1) * np.exp(0.25 * h[i]) * span_all[i] / ndays
            for _ in range(int(rng.poisson(rate_t))):
                mood = h_prev[i] + rng.normal(0, 0.8)
                sentiment = "positive" if mood > 0.7 else "negative" if mood < -0.5 else "neutral"
                kind = kinds[int(rng.integers(0, len(kinds)))]
                when = at(lo[i] + rng.integers(0, span_all[i]), rng.integers(0, 86400))
                touchpoints.append((int(i), csm, kind, when, sentiment, f"Simulated {kind}"))

    usage = np.concatenate(usage_parts, axis=1) if usage_parts else np.zeros((5, 0), int)
    # One row per (customer, day, user, feature): merge duplicates (their events add up), sorted.
    key = ((usage[0] * 1024 + usage[1]) * 4096 + usage[2]) * 16 + usage[3]
    uniq, inverse = np.unique(key, return_inverse=True)
    events = np.bincount(inverse, weights=usage[4]).astype(np.int64)
    usage_cols = {
        "customer": uniq // (16 * 4096 * 1024),
        "day": (uniq // (16 * 4096)) % 1024,
        "user": (uniq // 16) % 4096,
        "feature": uniq % 16,
        "events": events,
    }

    stage_of = []
    for i in range(n):
        if churn_day[i] < 10**6:
            stage_of.append("churned")
        elif total_days - 1 - contract_start[i] < 90:
            stage_of.append("onboarding")
        elif total_days - 1 - contract_start[i] < 365:
            stage_of.append("adopting")
        else:
            stage_of.append("mature")
    population = []
    for i in range(n):
        cs = start + dt.timedelta(days=int(contract_start[i]))
        years = max(1, (end - cs).days // 365 + 1)
        population.append(
            {
                "external_id": f"SIM-{i + 1:06d}",
                "name": f"Sim customer {i + 1}",
                "segment": SEGMENTS[seg[i]].name,
                "licenses": int(seats[i]),
                "contract_start": cs,
                "go_live_date": cs + dt.timedelta(days=30),
                "renewal_date": cs.replace(year=cs.year + years) if (cs.month, cs.day) != (2, 29) else None,
                "lifecycle_stage": stage_of[i],
                "csm": int(csm_of[i]) if csm_of[i] >= 0 else None,
            }
        )
    return _Plan(
        start, end, population, contacts, n_csms, mrr, usage_cols, tickets, answers, pulses, touchpoints
    )


def _checksum(plan: _Plan) -> str:
    digest = hashlib.sha256()
    for c in plan.customers:
        digest.update(repr(sorted(c.items())).encode())
    for rows in (plan.mrr, plan.tickets, plan.answers, plan.pulses, plan.touchpoints):
        digest.update(repr(rows).encode())
    for name in sorted(plan.usage):
        digest.update(plan.usage[name].astype(np.int64).tobytes())
    return digest.hexdigest()


# --- Writing ------------------------------------------------------------------------------------------------


def _insert(table: str, columns: list[str], rows) -> int:
    """Rows (tuples of Python values) into `table`: COPY on PostgreSQL, executemany in batches elsewhere."""
    from django.db import connection

    count = 0
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        ops = connection.ops
        sql = f"INSERT INTO {ops.quote_name(table)} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608

        def adapt(v):
            if isinstance(v, dt.datetime):
                return ops.adapt_datetimefield_value(v)
            if isinstance(v, dt.date):
                return v.isoformat()
            if isinstance(v, Decimal):
                return str(v)
            return v

        batch = []
        for row in rows:
            batch.append([adapt(v) for v in row])
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def simulate(*, customers: int, months: int = 12, seed: int = 0, end: dt.date) -> SimSummary:
    """Generate and write the population (see the module docstring) into the current database; the simulated
    customers' external ids start with SIM-, so the database should hold no other SIM- customers."""
    from django.conf import settings

    t0 = time.perf_counter()
    tz = ZoneInfo(settings.TIME_ZONE)
    plan = generate(customers=customers, months=months, seed=seed, end=end, tz=tz)
    return write(plan, seed=seed, months=months, seconds={"generate": time.perf_counter() - t0})


def write(plan: _Plan, *, seed: int, months: int, seconds: dict[str, float]) -> SimSummary:
    """Write a generated population (this module's or bench/simulate_behaviour.py's) into the database."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from accounts.models import Contact, Customer, Pulse, Touchpoint, User
    from metrics.models import KeyFeature, MrrEntry, Ticket, UsageDaily, UsageEvent, UsageUserDay
    from metrics.services import mrr_ledger_relink
    from surveys.models import Response

    tz = ZoneInfo(settings.TIME_ZONE)
    unusable = make_password(None)
    created = dt.datetime.combine(plan.start, dt.time(), tzinfo=tz)

    t0 = time.perf_counter()
    with transaction.atomic():
        csms = User.objects.bulk_create(
            [
                User(
                    email=f"sim-csm{k + 1}@example.com",
                    full_name=f"Sim CSM {k + 1}",
                    role="csm",
                    password=unusable,
                )
                for k in range(plan.csms)
            ]
        )
        csm_ids = [u.pk for u in csms]
        objs = Customer.objects.bulk_create(
            [
                Customer(
                    **{k: v for k, v in c.items() if k != "csm"},
                    csm_id=csm_ids[c["csm"]] if c["csm"] is not None else None,
                )
                for c in plan.customers
            ],
            batch_size=2000,
        )
        ids = [o.pk for o in objs]
        contact_objs = Contact.objects.bulk_create(
            [Contact(customer_id=ids[i], email=email, name=name) for i, email, name in plan.contacts],
            batch_size=5000,
        )
        contact_ids = [c.pk for c in contact_objs]
        for name in plan.key_features:
            KeyFeature.objects.get_or_create(name=name)
        seconds["customers"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        mrr_rows = _insert(
            MrrEntry._meta.db_table,
            ["customer_id", "effective_date", "mrr", "created_at", "updated_at"],
            ((ids[i], d, v, created, created) for i, d, v in sorted(plan.mrr, key=lambda r: (r[0], r[1]))),
        )
        mrr_ledger_relink(customer_ids=ids)
        seconds["ledger"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        u = plan.usage
        days = [plan.start + dt.timedelta(days=k) for k in range((plan.end - plan.start).days + 1)]
        users = [f"u{k:03d}" for k in range(int(u["user"].max(initial=0)) + 1)]
        id_arr = np.array(ids)
        usage_rows = _insert(
            UsageDaily._meta.db_table,
            ["customer_id", "user_id", "feature", "day", "events", "quantity"],
            (
                (c, users[us], plan.features[f], days[d], e, e)
                for c, us, f, d, e in zip(
                    id_arr[u["customer"]].tolist(),
                    u["user"].tolist(),
                    u["feature"].tolist(),
                    u["day"].tolist(),
                    u["events"].tolist(),
                    strict=True,
                )
            ),
        )
        seconds["usage rollup"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        daily, user_day = (connection.ops.quote_name(m._meta.db_table) for m in (UsageDaily, UsageUserDay))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {user_day} (customer_id, day, user_id, events) "  # noqa: S608
                f"SELECT customer_id, day, user_id, SUM(events) FROM {daily} "
                "WHERE customer_id BETWEEN %s AND %s GROUP BY customer_id, day, user_id",
                [min(ids), max(ids)],
            )
            user_days = cursor.rowcount
        # Raw events of the last week, one per event counted in the rollup (quantity 1 each).
        recent = np.flatnonzero(u["day"] >= len(days) - RAW_EVENT_DAYS)
        rep = u["events"][recent]
        ev_row = np.repeat(recent, rep)
        ev_sec = np.random.default_rng(seed + 1).integers(0, 86400, len(ev_row))

        def raw_events():
            for k, (r, s) in enumerate(zip(ev_row.tolist(), ev_sec.tolist(), strict=True)):
                d = days[int(u["day"][r])]
                yield (
                    f"sim-{seed}-{k}",
                    ids[int(u["customer"][r])],
                    users[int(u["user"][r])],
                    plan.features[int(u["feature"][r])],
                    dt.datetime(d.year, d.month, d.day, tzinfo=tz) + dt.timedelta(seconds=s),
                    1,
                )

        events = _insert(
            UsageEvent._meta.db_table,
            ["event_id", "customer_id", "user_id", "feature", "occurred_at", "quantity"],
            raw_events(),
        )
        seconds["user-day rollup, raw events"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        tickets = _insert(
            Ticket._meta.db_table,
            [
                "customer_id",
                "external_id",
                "opened_at",
                "resolved_at",
                "priority",
                "first_contact_resolution",
                "category",
                "updated_at",
            ],
            ((ids[i], x, o, r, p, f, c, r or o) for i, x, o, r, p, f, c in plan.tickets),
        )
        answer_rows = sorted(plan.answers, key=lambda a: a[4])
        _insert(
            Response._meta.db_table,
            ["customer_id", "contact_id", "contact_email", "kind", "score", "comment", "answered_at"],
            (
                (ids[i], contact_ids[c], plan.contacts[c][1], kind, score, "", when)
                for i, c, kind, score, when in answer_rows
            ),
        )
        _insert(
            Pulse._meta.db_table,
            ["customer_id", "author_id", "score", "note", "created_at"],
            ((ids[i], csm_ids[a] if a is not None else None, s, "", w) for i, a, s, w in plan.pulses),
        )
        _insert(
            Touchpoint._meta.db_table,
            ["customer_id", "author_id", "kind", "occurred_at", "sentiment", "summary", "created_at"],
            (
                (ids[i], csm_ids[a] if a is not None else None, k, w, s, text, w)
                for i, a, k, w, s, text in plan.touchpoints
            ),
        )
        seconds["tickets, answers, pulses, touchpoints"] = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        seconds["analyze"] = time.perf_counter() - t0

    churned = sum(1 for c in plan.customers if c["lifecycle_stage"] == "churned")
    return SimSummary(
        customers=len(ids),
        churned=churned,
        months=months,
        start=plan.start,
        end=plan.end,
        mrr_rows=mrr_rows,
        usage_daily_rows=usage_rows,
        usage_user_days=user_days,
        events=events,
        tickets=tickets,
        nps_answers=sum(1 for a in plan.answers if a[2] == "nps"),
        csat_answers=sum(1 for a in plan.answers if a[2] == "csat"),
        pulses=len(plan.pulses),
        touchpoints=len(plan.touchpoints),
        contacts=len(plan.contacts),
        csms=plan.csms,
        checksum=_checksum(plan),
        seconds={k: round(v, 2) for k, v in seconds.items()},
    )
