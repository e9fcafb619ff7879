"""The recompute's fast paths give exactly what the plain definitions give (issue 5's speed work).

- `score_many` (plans per combination of present factors) against the straightforward per-customer formula of
  docs/health.md, on random models and readings, and its scores-only form (the model editor's preview);
- the set-based denormalisation on PostgreSQL against the Python one;
- the selectors' id-range reads (a chunk of customers) against the same customers asked for one by one;
- dates of pulses and touchpoints taken in SQL in TIME_ZONE, as `as_date` takes them in Python;
- the paused cyclic garbage collector is switched back on, even after an error.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Customer
from metrics.health import services
from metrics.health.backtest import BAND_CODES, NO_CHURN, Collected, score_rows
from metrics.health.engine import FactorConfig, ModelConfig, band_with_hysteresis, score_many
from metrics.health.factors import FACTOR_MODULES, Reading, excused, get_factor
from metrics.health.services import health_model_current, previous_bands
from metrics.models import HealthSnapshot
from surveys.selectors import account_nps_by_customer, csat_by_customer
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    InvitationFactory,
    PulseFactory,
    ResponseFactory,
    TicketFactory,
    TouchpointFactory,
)
from tests.requirements import require_postgres

from .conftest import DAY, at, days_ago, usage

KEYS = list(FACTOR_MODULES)  # every registered factor, in the default model's order


# --- score_many against the definition -------------------------------------------------------------------


def _reference_round_to_total(values: list[float], total: float) -> list[float]:
    scaled = [v * 10 for v in values]
    floors = [math.floor(v) for v in scaled]
    missing = round(total * 10) - sum(floors)
    order = sorted(range(len(values)), key=lambda i: scaled[i] - floors[i], reverse=True)
    for i in order[: max(0, missing)]:
        floors[i] += 1
    return [f / 10 for f in floors]


def reference_score(config: ModelConfig, readings: dict, previous: str | None):
    """docs/health.md one customer at a time, written the plain way (the engine before the speed work)."""
    factors = config.active
    # excused factors (not applicable) count neither as present nor in the weight compared with
    total_weight = sum(f.weight for f in factors if not getattr(readings.get(f.key), "excused", False))
    present = [f for f in factors if (r := readings.get(f.key)) is not None and r.value is not None]
    present_weight = sum(f.weight for f in present)
    enough = total_weight > 0 and present_weight > 0 and present_weight * 2 >= total_weight
    points = {
        f.key: 100.0 * min(1.0, max(0.0, (readings[f.key].value - f.bad) / (f.good - f.bad))) for f in present
    }
    score, shares, contributions = None, {}, {}
    if enough:
        exact = sum(f.weight * points[f.key] for f in present) / present_weight
        score = Decimal(str(round(exact, 1)))
        keys = [f.key for f in present]
        shares = dict(
            zip(
                keys,
                _reference_round_to_total([100.0 * f.weight / present_weight for f in present], 100.0),
                strict=True,
            )
        )
        parts = [f.weight * points[f.key] / present_weight for f in present]
        contributions = dict(zip(keys, _reference_round_to_total(parts, float(score)), strict=True))
    components = []
    for f in factors:
        r = readings.get(f.key)
        has = r is not None and r.value is not None
        components.append(
            {
                "factor": f.key,
                "raw_value": round(r.value, 4) if has else None,
                "score": round(points[f.key], 1) if has else None,
                "weight": shares.get(f.key, 0.0) if enough else None,
                "contribution": contributions.get(f.key, 0.0) if enough else None,
                "as_of": r.as_of.isoformat() if has and r.as_of else None,
                "detail": r.detail if has or (r is not None and r.excused) else {},
            }
        )
    band = band_with_hysteresis(
        float(score) if score is not None else None,
        previous=previous,
        green=config.green,
        yellow=config.yellow,
        margin=config.margin,
    )
    return score, band, components


anchor = st.floats(min_value=-200, max_value=200, allow_nan=False).map(lambda x: round(x, 2))
factor_configs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40),  # weight
        anchor,
        anchor,
        st.booleans(),  # enabled
    ).filter(lambda t: t[1] != t[2]),
    min_size=len(KEYS),
    max_size=len(KEYS),
)
reading = st.one_of(
    st.none(),
    st.builds(
        Reading,
        value=st.one_of(st.none(), st.floats(min_value=-300, max_value=300, allow_nan=False)),
        as_of=st.one_of(st.none(), st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 7, 1))),
        detail=st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 50), max_size=2),
    ),
    st.builds(excused, st.sampled_from(["no ticket feed", "under 60 days of history"])),
)
customer = st.tuples(
    st.lists(reading, min_size=len(KEYS), max_size=len(KEYS)),
    st.sampled_from([None, "", "green", "yellow", "red"]),
)


@settings(max_examples=200, deadline=None)
@given(
    factors=factor_configs,
    thresholds=st.tuples(st.integers(41, 90), st.integers(10, 40), st.integers(0, 5)),
    customers=st.lists(customer, min_size=1, max_size=30),
)
def test_score_many_equals_the_definition(factors, thresholds, customers):
    green, yellow, margin = thresholds
    config = ModelConfig(
        factors=tuple(
            FactorConfig(key, float(w), bad, good, enabled)
            for key, (w, bad, good, enabled) in zip(KEYS, factors, strict=True)
        ),
        green=float(green),
        yellow=float(yellow),
        margin=float(margin),
    )
    readings = {
        cid: {k: r for k, r in zip(KEYS, rs, strict=True) if r is not None}
        for cid, (rs, _prev) in enumerate(customers)
    }
    bands = {cid: prev for cid, (_rs, prev) in enumerate(customers) if prev}
    results = score_many(config, readings, previous_bands=bands)
    assert [r.customer_id for r in results] == list(readings)
    bare = score_many(config, readings, previous_bands=bands, components=False)  # the editor's preview
    assert [(r.customer_id, r.score, r.band, []) for r in results] == [
        (r.customer_id, r.score, r.band, r.components) for r in bare
    ]
    for r in results:
        assert (r.score, r.band, r.components) == reference_score(
            config, readings[r.customer_id], bands.get(r.customer_id)
        )


# --- denormalisation: SQL (PostgreSQL) == Python ---------------------------------------------------------


def _customer_fields(ids):
    return list(
        Customer.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "health_score", "health_band", "health_change_7d", "health_as_of")
    )


@pytest.mark.services  # PostgreSQL only: CI runs it in the PostgreSQL + Redis pass
@pytest.mark.django_db
def test_denormalise_in_sql_equals_the_python_version(monkeypatch):
    require_postgres()
    model = health_model_current()
    customers = [CustomerFactory(licenses=10) for _ in range(6)]
    ids = [c.pk for c in customers]
    for i, c in enumerate(customers[:5]):
        for d in range(0, 60, 5):
            usage(c, users=1 + (i + d) % 7, day=days_ago(d))
        PulseFactory(customer=c, score=1 + i % 5, created_at=at(days_ago(10)))
    # A ticket feed (docs/health.md#missing-is-not-perfect), none open: support load counts, so with the
    # default model enough weight is present for a score on both days.
    TicketFactory(customer=customers[0], opened_at=at(days_ago(40)), resolved_at=at(days_ago(39)))
    # History: a week ago and today for most, only today for one, a later backfill-only day for another;
    # customers[5] never gets a snapshot; a "not enough data" score (null) for customers with licenses 0.
    Customer.objects.filter(pk=customers[4].pk).update(licenses=0)
    for day in (days_ago(7), DAY):
        for lo in ids[:4]:
            services.health_chunk_recompute(day=day, model_id=model.pk, lo=lo, hi=lo, denormalise=False)
    services.health_chunk_recompute(
        day=days_ago(2), model_id=model.pk, lo=ids[4], hi=ids[4], denormalise=False
    )
    HealthSnapshot.objects.filter(customer=customers[1], date=days_ago(7)).delete()
    Customer.objects.filter(pk=customers[2].pk).update(health_band="red", health_score=Decimal("1.0"))
    Customer.objects.filter(pk=customers[5].pk).update(health_band="green", health_as_of=days_ago(30))

    with transaction.atomic():
        monkeypatch.setattr(connection, "vendor", "other")  # the portable path, on the same data
        changed_python = services.customers_denormalise(lo=min(ids), hi=max(ids))
        monkeypatch.undo()
        expected = _customer_fields(ids)
        transaction.set_rollback(True)
    changed_sql = services.customers_denormalise(lo=min(ids), hi=max(ids))
    assert _customer_fields(ids) == expected
    assert changed_sql == changed_python == 6
    assert expected[5][1:] == (None, "", None, None)
    assert expected[0][3] is not None  # a 7-day change where both days have a score
    assert services.customers_denormalise(lo=min(ids), hi=max(ids)) == 0  # nothing left to change


# --- selectors and previous bands over an id range ----------------------------------------------------------


@pytest.mark.django_db
def test_survey_selectors_over_a_range_keep_only_the_customers_asked_for():
    customers = [CustomerFactory() for _ in range(5)]
    now = timezone.now()
    for i, c in enumerate(customers):
        contact = ContactFactory(customer=c)
        ResponseFactory(contact=contact, score=i * 2, answered_at=now - dt.timedelta(days=5))
        ResponseFactory(customer=c, contact=contact, kind="csat", score=1 + i, answered_at=now)
    asked = [customers[0].pk, customers[2].pk, customers[4].pk]  # dense: read as a range, others dropped
    one_by_one_nps = {}
    one_by_one_csat = {}
    for pk in asked:
        one_by_one_nps.update(account_nps_by_customer(customer_ids=[pk]))
        one_by_one_csat.update(csat_by_customer(customer_ids=[pk]))
    assert account_nps_by_customer(customer_ids=asked) == one_by_one_nps
    assert csat_by_customer(customer_ids=asked) == one_by_one_csat
    assert set(one_by_one_nps) == set(asked)
    sparse = [customers[0].pk, customers[0].pk + 10_000]  # sparse: read as a list
    assert account_nps_by_customer(customer_ids=sparse) == {customers[0].pk: one_by_one_nps[customers[0].pk]}


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second", "expected"), [(0, 10, 100.0), (10, 0, -100.0)])
def test_account_nps_tie_on_the_same_second_takes_the_later_row(first, second, expected):
    """Two answers from one address in the same instant (an imported one and one through an invitation):
    the later row counts, as before the rewrite (NOT EXISTS a later one, ties broken by id)."""
    c = CustomerFactory()
    contact = ContactFactory(customer=c)
    when = timezone.now() - dt.timedelta(days=1)
    ResponseFactory(contact=contact, score=first, answered_at=when)
    ResponseFactory(
        contact=contact, score=second, answered_at=when, invitation=InvitationFactory(contact=contact)
    )
    assert account_nps_by_customer(customer_ids=[c.pk]) == {c.pk: expected}


@pytest.mark.django_db
def test_previous_bands_over_a_range_keep_only_the_customers_asked_for():
    model = health_model_current()
    customers = [CustomerFactory() for _ in range(4)]
    for c, band in zip(customers, ["green", "red", "yellow", ""], strict=True):
        HealthSnapshot.objects.create(
            customer=c, date=days_ago(1), score=None if not band else 50, band=band, model=model
        )
    asked = [customers[0].pk, customers[2].pk, customers[3].pk]
    assert previous_bands(customer_ids=asked, day=DAY) == {
        customers[0].pk: "green",
        customers[2].pk: "yellow",
    }
    assert previous_bands(customer_ids=[], day=DAY) == {}


# --- dates in TIME_ZONE -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_pulse_and_touchpoint_dates_are_local_dates(settings, zone):
    settings.TIME_ZONE = zone
    timezone.deactivate()
    c = CustomerFactory()
    # 02:30 UTC on DAY-3: the evening before in New York, the same day in Tokyo.
    instant = dt.datetime.combine(days_ago(3), dt.time(2, 30), tzinfo=dt.UTC)
    PulseFactory(customer=c, score=4, created_at=instant)
    TouchpointFactory(customer=c, occurred_at=instant)
    local = instant.astimezone(timezone.get_current_timezone()).date()
    pulse = get_factor("pulse").readings(customer_ids=[c.pk], day=DAY)[c.pk]
    engagement = get_factor("engagement").readings(customer_ids=[c.pk], day=DAY)[c.pk]
    assert pulse.as_of == local
    assert engagement.as_of == local
    assert engagement.value == float((DAY - local).days)


# --- the garbage collector pause --------------------------------------------------------------------------


def test_cyclic_gc_is_switched_back_on_even_after_an_error():
    def fails_inside():
        with services.cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        fails_inside()
    assert gc.isenabled()
    gc.disable()
    try:
        with services.cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


# --- the backtest's vectorised scoring == the engine's -----------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    factors=factor_configs,
    thresholds=st.tuples(st.integers(41, 90), st.integers(10, 40)),
    customers=st.lists(customer, min_size=1, max_size=30),
)
def test_backtest_scoring_equals_the_engine(factors, thresholds, customers):
    green, yellow = thresholds
    config = ModelConfig(
        factors=tuple(
            FactorConfig(key, float(w), bad, good, enabled)
            for key, (w, bad, good, enabled) in zip(KEYS, factors, strict=True)
        ),
        green=float(green),
        yellow=float(yellow),
    )
    readings = {
        cid: {k: r for k, r in zip(KEYS, rs, strict=True) if r is not None}
        for cid, (rs, _prev) in enumerate(customers)
    }
    n = len(readings)
    data = Collected(
        as_of_dates=[dt.date(2026, 6, 1)],
        keys=tuple(KEYS),
        customer=np.arange(n, dtype=np.int64),
        day=np.zeros(n, dtype=np.int64),
        churn_in=np.full(n, NO_CHURN, dtype=np.int64),
        raw=np.array(
            [
                [r.value if (r := got.get(k)) is not None and r.value is not None else np.nan for k in KEYS]
                for got in readings.values()
            ],
            dtype=float,
        ).reshape(n, len(KEYS)),
        excused=np.array(
            [[(r := got.get(k)) is not None and r.excused for k in KEYS] for got in readings.values()],
            dtype=bool,
        ).reshape(n, len(KEYS)),
        lead=30,
        warning_rows=np.zeros(0, dtype=np.int64),
        window=(dt.date(2026, 7, 1), dt.date(2026, 7, 31)),
        ledger_until=None,
    )
    scoring = score_rows(config, data)
    engine = score_many(config, readings, previous_bands={}, components=False)
    assert [None if s != s else s for s in scoring.score.tolist()] == [
        None if r.score is None else float(r.score) for r in engine
    ]
    assert [BAND_CODES[int(b)] for b in scoring.band] == [r.band for r in engine]
