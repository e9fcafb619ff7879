"""The backtest (docs/health.md#backtest): the metric helpers against hand computations, a small population
whose report is worked out by hand, no look-ahead, determinism, and the management command."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from metrics.health.backtest import (
    alarm_rate,
    auc,
    bootstrap_auc,
    calibration,
    collect,
    early_warning_share,
    evaluate,
    lift,
    month_starts,
    percentile,
    run_backtest,
)
from metrics.health.engine import FactorConfig, ModelConfig
from metrics.health.services import health_model_create, health_recompute
from metrics.models import HealthSnapshot
from tests.factories import (
    CustomerFactory,
    MrrEntryFactory,
    PulseFactory,
    TicketFactory,
    TouchpointFactory,
)
from tests.requirements import require_postgres

from .conftest import at, usage

D = dt.date

# --- Pure helpers on hand data ------------------------------------------------------------------------------


def test_auc_counts_ties_half():
    # churners' risks 0.9 and 0.5, non-churners' 0.5 and 0.1: pairs 1 + 1 + 0.5 (tie) + 1 = 3.5 of 4
    assert auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False]) == 0.875
    assert auc([0.1, 0.5, 0.9, 0.5], [False, False, True, True]) == 0.875  # order does not matter
    assert auc([1, 1, 1], [True, False, False]) == 0.5  # all tied
    assert auc([0.2, 0.8], [True, False]) == 0.0


def test_auc_weights_repeat_rows_and_an_empty_class_gives_none():
    # the first churner counted twice: wins 2 x 2 + (1 + 0.5) = 5.5 of 3 x 2 pairs
    assert auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False], [2, 1, 1, 1]) == pytest.approx(5.5 / 6)
    assert auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False], [0, 1, 1, 1]) == 0.75  # a row dropped
    assert auc([0.3, 0.4], [False, False]) is None
    assert auc([0.3, 0.4], [True, True]) is None
    assert auc([], []) is None


def test_lift_is_a_ratio_of_churn_rates_or_none():
    assert lift(0.3, 0.1) == pytest.approx(3.0)
    assert lift(0.3, 0.0) is None
    assert lift(0.3, None) is None
    assert lift(None, 0.1) is None
    assert lift(0.0, 0.2) == 0.0


def test_calibration_cuts_the_sorted_scores_into_deciles_by_rank():
    scores = [float(s) for s in range(19, -1, -1)]  # 20 rows, given highest first
    labels = [s < 4 or s == 11 for s in scores]  # the four lowest scores and 11 churned
    bins = calibration(scores, labels)
    assert [b.decile for b in bins] == list(range(1, 11))
    assert [b.count for b in bins] == [2] * 10
    assert [(b.min_score, b.max_score) for b in bins][:2] == [(0.0, 1.0), (2.0, 3.0)]
    assert [b.mean_score for b in bins] == [0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 14.5, 16.5, 18.5]
    assert [b.churned for b in bins] == [2, 2, 0, 0, 0, 1, 0, 0, 0, 0]
    assert [b.churn_rate for b in bins] == [1.0, 1.0, 0, 0, 0, 0.5, 0, 0, 0, 0]
    # fewer rows than bins: row k of n in bin floor(10k / n); empty deciles are left out
    few = calibration([70.0, 10.0, 40.0], [False, True, False])
    assert [(b.decile, b.count, b.mean_score, b.churn_rate) for b in few] == [
        (1, 1, 10.0, 1.0),
        (4, 1, 40.0, 0.0),
        (7, 1, 70.0, 0.0),
    ]
    assert calibration([], []) == []


def test_early_warning_share_and_alarm_rate():
    # five churners: red and yellow are warned; green, unscored ("") and not paying (None) are not
    assert early_warning_share(["red", "green", "", None, "yellow"]) == pytest.approx(2 / 5)
    assert early_warning_share([]) is None
    # alarm rate: among scored rows only
    assert alarm_rate(["red", "green", "", "yellow", "green"]) == 0.5
    assert alarm_rate(["", ""]) is None


def test_percentile_and_month_starts():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 1.0) == 4.0
    assert month_starts(D(2026, 1, 15), D(2026, 4, 1)) == [D(2026, 2, 1), D(2026, 3, 1), D(2026, 4, 1)]
    assert month_starts(D(2025, 12, 1), D(2026, 1, 31)) == [D(2025, 12, 1), D(2026, 1, 1)]
    assert month_starts(D(2026, 1, 2), D(2026, 1, 31)) == []


def test_bootstrap_is_deterministic_for_a_seed():
    risks = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.5, 0.6, 0.7]
    labels = [True, False, True, False, False, True, False, False, False, True, False, True]
    groups = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    first = bootstrap_auc(risks, labels, groups, resamples=200, seed=7)
    assert first == bootstrap_auc(risks, labels, groups, resamples=200, seed=7)
    assert first is not None
    low, high = first
    assert 0.0 <= low <= auc(risks, labels) <= high <= 1.0
    assert bootstrap_auc(risks, labels, groups, resamples=200, seed=8) != first
    # the input order of the rows does not matter for a seed
    order = list(reversed(range(len(risks))))
    again = bootstrap_auc(
        [risks[i] for i in order], [labels[i] for i in order], [groups[i] for i in order], seed=7
    )
    assert again == first
    assert bootstrap_auc([0.1, 0.2], [False, False], [1, 2]) is None


# --- A small population, worked out by hand -----------------------------------------------------------------

START, END = D(2026, 1, 1), D(2026, 3, 1)  # as-of dates: Jan 1, Feb 1, Mar 1


def pulse_model():
    """A model of the CSM pulse alone (1 -> 0, 5 -> 100): pulse 2 scores 25 (red), 3 scores 50 (yellow),
    4 scores 75 (green), 5 scores 100 (green), 1 scores 0 (red); no pulse in 60 days: not enough data."""
    return health_model_create(
        factors=[{"key": "pulse", "weight": 100, "bad": 1.0, "good": 5.0, "enabled": True}],
        green=70,
        yellow=40,
        margin=3,
        note="backtest fixture",
    )


def ledger(customer, *rows):
    for day, mrr in rows:
        MrrEntryFactory(customer=customer, effective_date=day, mrr=mrr)


PULSE_DAYS = (D(2025, 12, 31), D(2026, 1, 31), D(2026, 2, 28))  # the eve of each as-of date


def pulses(customer, score):
    for day in PULSE_DAYS:
        PulseFactory(customer=customer, score=score, created_at=at(day))


@pytest.fixture
def population(db):
    """Seven customers (ledger from 2025-06-01 at 100 unless said):

    A pulse 5, never churns.              B pulse 2, churns 2026-02-20.
    C pulse 3, churns 2026-03-15.         D no pulse, churns 2026-01-20.
    E pulse 4, churns 2026-03-20.         F pays from 2026-02-10, pulse 1 on 2026-02-25, never churns.
    G no pulse, pays from 2026-02-01, churns 2026-02-15.
    """
    model = pulse_model()
    c = {name: CustomerFactory(name=name) for name in "ABCDEFG"}
    start = (D(2025, 6, 1), 100)
    ledger(c["A"], start)
    ledger(c["B"], start, (D(2026, 2, 20), 0))
    ledger(c["C"], start, (D(2026, 3, 15), 0))
    ledger(c["D"], start, (D(2026, 1, 20), 0))
    ledger(c["E"], start, (D(2026, 3, 20), 0))
    ledger(c["F"], (D(2026, 2, 10), 80))
    ledger(c["G"], (D(2026, 2, 1), 50), (D(2026, 2, 15), 0))
    pulses(c["A"], 5)
    pulses(c["B"], 2)
    pulses(c["C"], 3)
    pulses(c["E"], 4)
    PulseFactory(customer=c["F"], score=1, created_at=at(D(2026, 2, 25)))
    return model, c


def test_population_report_equals_the_hand_computation(population):
    model, c = population
    report = run_backtest(start=START, end=END, model_version=model.version, resamples=50)
    name = {v.pk: k for k, v in c.items()}
    rows = {(name[r.customer_id], r.as_of.month): (r.score, r.band, r.churn_date) for r in report.rows}
    # Jan 1: A B C D E paying (F and G not yet); Feb 1: D gone, G joins; Mar 1: B and G gone, F joins.
    assert rows == {
        ("A", 1): (100.0, "green", None),
        ("B", 1): (25.0, "red", D(2026, 2, 20)),
        ("C", 1): (50.0, "yellow", D(2026, 3, 15)),
        ("D", 1): (None, "", D(2026, 1, 20)),
        ("E", 1): (75.0, "green", D(2026, 3, 20)),
        ("A", 2): (100.0, "green", None),
        ("B", 2): (25.0, "red", D(2026, 2, 20)),
        ("C", 2): (50.0, "yellow", D(2026, 3, 15)),
        ("E", 2): (75.0, "green", D(2026, 3, 20)),
        ("G", 2): (None, "", D(2026, 2, 15)),
        ("A", 3): (100.0, "green", None),
        ("C", 3): (50.0, "yellow", D(2026, 3, 15)),
        ("E", 3): (75.0, "green", D(2026, 3, 20)),
        ("F", 3): (0.0, "red", None),
    }
    h30 = report.horizons[0]
    assert h30.horizon == 30
    assert (h30.rows, h30.customers, h30.scored_rows) == (14, 7, 12)
    # churned within 30 days: D@Jan (Jan 20), B@Feb (Feb 20), G@Feb (Feb 15), C@Mar (Mar 15), E@Mar (Mar 20)
    assert (h30.churned_rows, h30.churned_customers) == (5, 5)
    # AUC of risk = 100 - score over the 12 scored rows. Churners' risks: B@Feb 75, C@Mar 50, E@Mar 25.
    # Non-churners: A x3 at 0, E@Jan, E@Feb at 25, C@Jan, C@Feb at 50, B@Jan at 75, F@Mar at 100.
    # 75 beats 7 (A3 E2 C2), ties 1; 50 beats 5, ties 2; 25 beats 3, ties 2: (7.5 + 6 + 4) / (3 x 9)
    assert h30.auc == pytest.approx(17.5 / 27)
    assert h30.auc_ci is not None
    bands = {b: (r.rows, r.churned) for b, r in h30.bands.items()}
    assert bands == {"red": (3, 1), "yellow": (3, 1), "green": (6, 1), "none": (2, 2)}
    assert h30.bands["red"].churn_rate == pytest.approx(1 / 3)
    assert h30.bands["green"].churn_rate == pytest.approx(1 / 6)
    assert h30.lift_red == pytest.approx(2.0)  # (1/3) / (1/6)
    assert h30.lift_red_yellow == pytest.approx(2.0)  # (2/6) / (1/6)
    assert h30.not_enough_data_share == pytest.approx(2 / 14)
    assert h30.not_enough_data_churn_rate == 1.0
    assert sum(b.count for b in h30.calibration) == 12
    (pulse,) = h30.factors
    assert (pulse.factor, pulse.rows) == ("pulse", 12)
    assert pulse.coverage == pytest.approx(12 / 14)
    assert pulse.auc == pytest.approx(h30.auc)  # the only factor: its score is the score

    # 90 days: every churn date after an as-of date is within 90 days of it (the latest, E@Jan: 78 days)
    h90 = report.horizons[2]
    assert h90.horizon == 90
    assert h90.churned_rows == 10  # all rows with a churn date: 14 less A x3 and F
    # the last ledger row is dated Mar 20: every 90-day horizon, and the 30-day ones from Mar 1, reach past it
    assert (h30.rows_beyond_data, h90.rows_beyond_data) == (4, 14)

    # Early warning on the as-of grid: each churn C with C - 30 in [Jan 1, Apr 1) looks at the last as-of date
    # on or before C - 30. D (Jan 20 -> Dec 21) is before the grid: not counted. B Feb 20 -> Jan 21 -> Jan 1:
    # pulse 2, red (warned); G Feb 15 -> Jan 16 -> Jan 1: not paying; C Mar 15 -> Feb 13 -> Feb 1: pulse 3,
    # yellow (warned); E Mar 20 -> Feb 18 -> Feb 1: green.
    ew = report.early_warning
    assert (ew.churners, ew.warned, ew.not_paying, ew.unscored) == (4, 2, 1, 0)
    assert ew.share == pytest.approx(2 / 4)
    assert ew.share_of_paying == pytest.approx(2 / 3)  # the one not paying then could not be warned
    assert (ew.window_start, ew.window_end) == (D(2026, 1, 31), D(2026, 4, 30))
    # alarm rate: red or yellow among the 12 scored rows: B x2, F, C x3
    assert (ew.scored_rows, ew.alarm_rate) == (12, 0.5)


def test_a_grid_of_ones_own_looks_at_the_exact_lead_day(population):
    # The grid Jan 21, Feb 13, Feb 18 (as a daily recompute would show those days): churns from Jan 21 + 30 to
    # Feb 18 + 30 count: B (Feb 20) is looked at on Jan 21 (pulse 2 of Dec 31: red), C (Mar 15) on Feb 13
    # (pulse 3 of Jan 31: yellow), E (Mar 20) on Feb 18 (pulse 4: green); G (Feb 15) and D fall outside.
    model, _ = population
    config = ModelConfig.of(model)
    days = [D(2026, 2, 18), D(2026, 1, 21), D(2026, 2, 13), D(2026, 2, 13)]  # order and repeats do not matter
    data = collect(config, start=START, end=END, as_of_dates=days)
    assert data.as_of_dates == [D(2026, 1, 21), D(2026, 2, 13), D(2026, 2, 18)]
    assert data.window == (D(2026, 2, 20), D(2026, 3, 20))
    ew = evaluate(config, data, horizons=(30,), resamples=0).early_warning
    assert (ew.churners, ew.warned, ew.not_paying, ew.unscored) == (3, 2, 0, 0)
    assert ew.share == ew.share_of_paying == pytest.approx(2 / 3)
    # Jan 21: A B C E (D left Jan 20); Feb 13: A B C E F G (F from Feb 10); Feb 18: G left on Feb 15
    assert data.size == 4 + 6 + 5


def test_bootstrap_interval_of_a_run_is_identical_for_the_same_seed(population):
    model, _ = population
    first = run_backtest(start=START, end=END, model_version=model.version, resamples=100, seed=3)
    again = run_backtest(start=START, end=END, model_version=model.version, resamples=100, seed=3)
    assert [h.auc_ci for h in first.horizons] == [h.auc_ci for h in again.horizons]
    assert first.as_dict() == again.as_dict()


def test_chunks_do_not_change_the_report(population):
    model, _ = population
    whole = run_backtest(start=START, end=END, model_version=model.version, resamples=20)
    chunked = run_backtest(start=START, end=END, model_version=model.version, resamples=20, chunk_size=2)
    assert chunked.as_dict() == whole.as_dict()


# --- No look-ahead ------------------------------------------------------------------------------------------

AS_OF = D(2026, 6, 1)


def scores(report):
    return sorted((r.customer_id, r.as_of, r.score, r.band, sorted(r.factors.items())) for r in report.rows)


def test_data_dated_after_the_as_of_date_changes_no_score(db):
    """The default model (v1) on usage, pulses, touchpoints and tickets up to the as-of date; then the same
    kinds of data dated after it. The scores and factor scores stay; only the labels may look ahead."""
    steady = CustomerFactory(name="Steady", licenses=10)
    fading = CustomerFactory(name="Fading", licenses=10)
    for customer in (steady, fading):
        MrrEntryFactory(customer=customer, effective_date=D(2025, 1, 1), mrr=100)
    for d in range(0, 60, 3):
        day = AS_OF - dt.timedelta(days=d)
        usage(steady, users=8, day=day)
        usage(fading, users=1 if d < 30 else 6, day=day)
    PulseFactory(customer=steady, score=5, created_at=at(AS_OF - dt.timedelta(days=2)))
    PulseFactory(customer=fading, score=2, created_at=at(AS_OF - dt.timedelta(days=2)))
    TouchpointFactory(customer=steady, occurred_at=at(AS_OF - dt.timedelta(days=4)))
    TicketFactory(customer=fading, priority="urgent", opened_at=at(AS_OF - dt.timedelta(days=9)))
    before = run_backtest(start=AS_OF, end=AS_OF, resamples=10)
    assert len(before.rows) == 2
    assert all(r.score is not None for r in before.rows)

    # Afterwards: the steady customer turns unhappy and gets an urgent ticket, the fading one recovers.
    for d in range(1, 40, 2):
        day = AS_OF + dt.timedelta(days=d)
        usage(fading, users=10, day=day, prefix="later")
    PulseFactory(customer=steady, score=1, created_at=at(AS_OF + dt.timedelta(days=1)))
    PulseFactory(customer=fading, score=5, created_at=at(AS_OF + dt.timedelta(days=1)))
    TouchpointFactory(customer=fading, occurred_at=at(AS_OF + dt.timedelta(days=1)))
    TicketFactory(customer=steady, priority="urgent", opened_at=at(AS_OF + dt.timedelta(days=1)))
    MrrEntryFactory(customer=fading, effective_date=AS_OF + dt.timedelta(days=44), mrr=0)
    after = run_backtest(start=AS_OF, end=AS_OF, resamples=10)

    assert scores(after) == scores(before)
    # the label does look ahead: the fading customer churned 44 days after the as-of date
    assert {r.customer_id: r.churn_date for r in after.rows}[fading.pk] == AS_OF + dt.timedelta(days=44)
    # and the data added does matter as of a later date
    later = run_backtest(start=D(2026, 7, 1), end=D(2026, 7, 1), resamples=10)
    july = {r.customer_id: r.score for r in later.rows}
    june = {r.customer_id: r.score for r in after.rows}
    assert july[steady.pk] != june[steady.pk]
    assert july[fading.pk] != june[fading.pk]


# --- The command --------------------------------------------------------------------------------------------

REPORT_KEYS = {
    "model_version",
    "start",
    "end",
    "as_of_dates",
    "ledger_until",
    "resamples",
    "seed",
    "horizons",
    "early_warning",
}
HORIZON_KEYS = {
    "horizon",
    "rows",
    "churned_rows",
    "customers",
    "churned_customers",
    "rows_beyond_data",
    "scored_rows",
    "auc",
    "auc_ci",
    "bands",
    "lift_red",
    "lift_red_yellow",
    "not_enough_data_share",
    "not_enough_data_churn_rate",
    "calibration",
    "factors",
}
EARLY_WARNING_KEYS = {
    "lead_days",
    "window_start",
    "window_end",
    "churners",
    "warned",
    "share",
    "not_paying",
    "share_of_paying",
    "unscored",
    "alarm_rate",
    "scored_rows",
}


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("health_backtest", *args, stdout=out)
    return out.getvalue()


def test_command_prints_json_with_the_documented_keys(population):
    model, _ = population
    data = json.loads(
        run_command("--from", "2026-01-01", "--to", "2026-03-01", "--model", str(model.version), "--json")
    )
    assert set(data) == REPORT_KEYS
    assert data["as_of_dates"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert [h["horizon"] for h in data["horizons"]] == [30, 60, 90]
    assert set(data["horizons"][0]) == HORIZON_KEYS
    assert set(data["horizons"][0]["bands"]) == {"red", "yellow", "green", "none"}
    assert set(data["horizons"][0]["bands"]["red"]) == {"rows", "churned", "churn_rate"}
    assert set(data["horizons"][0]["calibration"][0]) == {
        "decile",
        "count",
        "min_score",
        "max_score",
        "mean_score",
        "churned",
        "churn_rate",
    }
    assert set(data["horizons"][0]["factors"][0]) == {"factor", "coverage", "rows", "auc"}
    assert set(data["early_warning"]) == EARLY_WARNING_KEYS
    assert data["horizons"][0]["auc"] == pytest.approx(17.5 / 27)
    assert data["early_warning"]["share"] == pytest.approx(0.5)
    # the same numbers as the report
    report = run_backtest(start=START, end=END, model_version=model.version)
    assert data == json.loads(json.dumps(report.as_dict()))


def test_command_options_and_tables(population):
    model, _ = population
    args = ["--from", "2026-01-01", "--to", "2026-03-01", "--model", str(model.version)]
    data = json.loads(run_command(*args, "--horizons", "45,15", "--lead", "10", "--json"))
    assert [h["horizon"] for h in data["horizons"]] == [15, 45]
    assert data["early_warning"]["lead_days"] == 10
    text = run_command(*args)
    assert f"model v{model.version}" in text
    assert "== Horizon 30 days" in text
    assert "AUC 0.648" in text
    assert "== Early warning" in text


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2026-13-01", "--to", "2026-03-01"],
        ["--from", "2026-01-01", "--to", "March"],
        ["--from", "2026-03-01", "--to", "2026-01-01"],
        ["--from", "2026-01-01", "--to", "2026-03-01", "--horizons", "30,x"],
        ["--from", "2026-01-01", "--to", "2026-03-01", "--horizons", "0"],
        ["--from", "2026-01-01", "--to", "2026-03-01", "--model", "99"],
    ],
)
def test_command_rejects_bad_arguments(db, args):
    with pytest.raises(CommandError):
        run_command(*args)


# --- Dates read at once, on their own connections (PostgreSQL) -------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_dates_read_in_parallel_threads_give_the_same_rows(population):
    require_postgres()
    model, _ = population
    config = ModelConfig.of(model)
    one = collect(config, start=START, end=END, workers=1)
    two = collect(config, start=START, end=END, workers=2)
    assert one.size == two.size == 14
    assert np.array_equal(one.customer, two.customer)
    assert np.array_equal(one.day, two.day)
    assert np.array_equal(one.churn_in, two.churn_in)
    assert np.array_equal(np.isnan(one.raw), np.isnan(two.raw))
    assert np.array_equal(np.nan_to_num(one.raw), np.nan_to_num(two.raw))
    assert np.array_equal(one.warning_rows, two.warning_rows)
    progress = []
    collect(
        config, start=START, end=END, workers=2, chunk_size=3, progress=lambda d, t: progress.append((d, t))
    )
    assert progress[0] == (0, 9)  # 3 chunks (of 3, 3 and 1 customers) x 3 dates
    assert progress[-1] == (9, 9)
    assert sorted(progress) == progress


# --- Stored snapshots are read where they hold the factor ---------------------------------------------------


def test_stored_snapshots_give_the_rows_a_fresh_read_gives_and_are_read(population):
    model, c = population
    for day in month_starts(START, END):
        health_recompute(day=day, run_hooks=False)  # the snapshot of record of each as-of date
    config = ModelConfig.of(model)
    with_tenure = replace(config, factors=(*config.factors, FactorConfig("tenure", 10.0, 30.0, 365.0)))
    for cfg in (config, with_tenure):  # tenure is in no snapshot: gathered
        stored = collect(cfg, start=START, end=END, snapshots=True)
        fresh = collect(cfg, start=START, end=END, snapshots=False)
        assert stored.keys == fresh.keys
        assert np.array_equal(stored.customer, fresh.customer)
        assert np.array_equal(np.nan_to_num(stored.raw, nan=-1), np.nan_to_num(fresh.raw, nan=-1))
        assert np.array_equal(stored.excused, fresh.excused)
    # the stored value is what is read: change B's stored pulse on Feb 1 and the row follows
    snap = HealthSnapshot.objects.get(customer=c["B"], date=D(2026, 2, 1))
    snap.components = [
        {**part, "raw_value": 4.0} if part["factor"] == "pulse" else part for part in snap.components
    ]
    snap.save()
    rows = {
        (r.customer_id, r.as_of): r
        for r in run_backtest(start=START, end=END, model_version=model.version).rows
    }
    assert rows[(c["B"].pk, D(2026, 2, 1))].score == 75.0
    assert rows[(c["B"].pk, D(2026, 1, 1))].score == 25.0
