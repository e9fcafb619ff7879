"""The renewals forecast (docs/renewals.md) against a hand computation on a fixed data set: expected ARR by
rule and override, the at_risk rate and its fallback, the quarter's figures and flags, accuracy, the weekly
snapshot, and the ingestion that closes a forecast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import AuditEntry
from metrics.forecast import selectors, services
from metrics.forecast.quarters import Quarter, parse_quarter, quarter_choices, quarter_of
from metrics.forecast.snapshots import forecast_snapshot_take, week_of
from metrics.models import ForecastCategory, Renewal, RenewalForecastSnapshot
from metrics.renewal_rules import at_risk_rate, fallback_rate
from metrics.services import renewals_upsert
from metrics.tasks import renewal_forecast_snapshot
from tests.factories import CustomerFactory

TODAY = dt.date(2027, 2, 15)
Q1 = Quarter(2027, 1)
D = Decimal


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


def history(customer, rows):
    """Closed at_risk renewals: (due, arr_due, outcome, renewed_arr)."""
    for due, arr, outcome, renewed in rows:
        Renewal.objects.create(
            customer=customer,
            due_date=due,
            arr_due=D(arr),
            outcome=outcome,
            renewed_arr=None if renewed is None else D(renewed),
            category=ForecastCategory.AT_RISK,
        )


# Σ due 80,000; Σ min(renewed, due) 10,000 + 0 + 15,000 + 10,000 (12,000 capped) + 0 = 35,000 → 0.4375.
# Once R8 below (at_risk, 20,000) has churned it counts too: 35,000 ÷ 100,000 = 0.35.
HISTORY = [
    (dt.date(2026, 6, 1), 10000, "renewed", None),
    (dt.date(2026, 7, 1), 10000, "churned", None),
    (dt.date(2026, 8, 1), 20000, "renewed", 15000),
    (dt.date(2026, 9, 1), 10000, "renewed", 12000),
    (dt.date(2026, 10, 1), 30000, "churned", None),
]


@pytest.fixture
def book(frozen, csm, other_csm, admin_user):
    """The fixed data set of docs/renewals.md's worked example."""
    old = CustomerFactory(external_id="HIST", csm=None)
    history(old, HISTORY)
    # Outside the window (due more than 365 days ago) or not at_risk: not part of the rate.
    history(old, [(dt.date(2025, 12, 1), 100000, "renewed", None)])
    Renewal.objects.create(
        customer=old, due_date=dt.date(2026, 11, 1), arr_due=D(99999), outcome="churned", category="likely"
    )

    def renewal(ext, owner, due, arr, *, band=""):
        c = CustomerFactory(external_id=ext, name=ext, csm=owner, health_band=band)
        return Renewal.objects.create(customer=c, due_date=due, arr_due=D(arr))

    r = {
        "r1": renewal("R1", csm, dt.date(2027, 3, 20), 120000),
        "r2": renewal("R2", csm, dt.date(2027, 3, 21), 60000),
        "r3": renewal("R3", csm, dt.date(2027, 3, 22), 40000),
        "r4": renewal("R4", csm, dt.date(2027, 3, 23), 30000),
        "r5": renewal("R5", csm, dt.date(2027, 3, 1), 24000),
        "r6": renewal("R6", other_csm, dt.date(2027, 3, 2), 100000, band="red"),
        "r7": renewal("R7", other_csm, dt.date(2027, 1, 10), 80000),
        "r8": renewal("R8", other_csm, dt.date(2027, 1, 20), 20000),
        "r9": renewal("R9", other_csm, dt.date(2027, 3, 30), 10000),
    }
    # Outside the quarter: not counted.
    renewal("NEXTQ", csm, dt.date(2027, 4, 1), 500000)
    sets = {
        "r1": ("commit", None),
        "r2": ("likely", D(50000)),
        "r3": ("at_risk", None),
        "r4": ("lost", None),
        "r6": ("commit", None),
        "r7": ("likely", None),
        "r8": ("at_risk", None),
        "r9": ("at_risk", D(9000)),
    }
    for key, (category, override) in sets.items():
        services.renewal_forecast_set(
            user=admin_user, renewal=r[key], category=category, expected_arr=override, note=f"{key} note"
        )
    services.renewal_outcome_record(user=admin_user, renewal=r["r7"], result="renewed", arr=D(90000))
    services.renewal_outcome_record(user=admin_user, renewal=r["r8"], result="churned")
    return r


def test_at_risk_rate_from_closed_at_risk_renewals_of_the_last_year(book):
    assert at_risk_rate(TODAY) == D("0.3500")


def test_at_risk_rate_falls_back_below_five_closed_renewals(db, frozen, settings):
    customer = CustomerFactory()
    history(customer, HISTORY[:4])
    assert at_risk_rate(TODAY) == D("0.5000") == fallback_rate()
    settings.CSHUB_RENEWAL_AT_RISK_FALLBACK_RATE = "0.6"
    assert at_risk_rate(TODAY) == D("0.6000")


def test_quarter_figures_equal_the_hand_computation(book, csm, other_csm):
    f = selectors.forecast(quarter=Q1, csm_ids=None, today=TODAY)
    t = f.total
    assert f.at_risk_rate == D("0.3500")
    assert t.renewals == 9
    assert t.arr_due == D("484000.00")
    assert (t.commit_arr, t.likely_arr, t.at_risk_arr, t.lost_arr, t.uncategorized_arr) == (
        D("220000.00"),
        D("140000.00"),
        D("70000.00"),
        D("30000.00"),
        D("24000.00"),
    )
    # 120,000 + 50,000 (override) + 14,000 (40,000 x 0.35) + 0 + 100,000 + 80,000 (frozen) + 8,750 (frozen
    # when it closed: 20,000 x 0.4375) + 9,000 (override); R5 has no category, so no expected ARR.
    assert t.expected_arr == D("381750.00")
    assert t.renewed_arr == D("90000.00")  # upsell included
    assert t.churned_arr == D("20000.00")
    assert t.open_arr == D("384000.00")
    assert t.retained_arr == D("80000.00")  # R7's upsell capped at its due
    assert t.open_expected_arr == D("293000.00")
    assert t.gap_arr == D("111000.00")  # 10,000 + 26,000 + 30,000 + 24,000 + 20,000 + 1,000
    assert t.forecast_grr == D("373000") / D("484000")
    assert (t.n_flag_uncategorized, t.n_flag_commit_red) == (1, 1)
    assert f.by_csm[csm.pk].arr_due == D("274000.00")
    assert f.by_csm[csm.pk].expected_arr == D("184000.00")
    assert f.by_csm[other_csm.pk].expected_arr == D("197750.00")
    assert f.by_csm[other_csm.pk].gap_arr == D("21000.00")


def test_scope_narrows_to_the_csms_given(book, csm):
    f = selectors.forecast(quarter=Q1, csm_ids=(csm.pk,), today=TODAY)
    assert set(f.by_csm) == {csm.pk}
    assert f.total.arr_due == D("274000.00")


@pytest.mark.parametrize(
    ("bucket", "customers"),
    [
        ("commit", ["R6", "R1"]),
        ("uncategorized", ["R5"]),
        ("gap", ["R8", "R5", "R2", "R3", "R4", "R9"]),
        ("flag_uncategorized", ["R5"]),
        ("flag_commit_red", ["R6"]),
        ("renewed", ["R7"]),
        ("open", ["R5", "R6", "R1", "R2", "R3", "R4", "R9"]),
    ],
)
def test_every_figure_drills_down_to_its_renewals(book, bucket, customers):
    rows = selectors.forecast_renewals(quarter=Q1, csm_ids=None, today=TODAY, bucket=bucket)
    assert sorted(r.customer.external_id for r in rows) == sorted(customers)


def test_drill_down_sums_match_the_figures(book):
    f = selectors.forecast(quarter=Q1, csm_ids=None, today=TODAY).total
    rows = list(selectors.forecast_renewals(quarter=Q1, csm_ids=None, today=TODAY, bucket="expected"))
    assert sum(r.expected for r in rows) == f.expected_arr
    gap_rows = selectors.forecast_renewals(quarter=Q1, csm_ids=None, today=TODAY, bucket="gap")
    assert sum(
        r.arr_due - min(r.actual if r.is_closed else (r.expected or 0), r.arr_due) for r in gap_rows
    ) == (f.gap_arr)


def test_closing_freezes_the_expected_arr(book):
    r8 = Renewal.objects.get(pk=book["r8"].pk)
    assert r8.closed_expected_arr == D("8750.00")
    # A later change of the rate does not move a closed renewal's expected ARR.
    history(CustomerFactory(), [(dt.date(2026, 12, 1), 1000000, "renewed", None)])
    assert at_risk_rate(TODAY) != D("0.3500")
    rows = selectors.forecast_renewals(quarter=Q1, csm_ids=None, today=TODAY, bucket="churned")
    assert [r.expected for r in rows] == [D("8750.00")]


def test_accuracy_equals_the_hand_computation(book, other_csm):
    overall, by_csm = selectors.accuracy(quarter=Q1, csm_ids=None)
    # Closed with a forecast: R7 expected 80,000 actual 90,000; R8 expected 8,750 actual 0.
    assert (overall.closed, overall.expected_arr, overall.actual_arr) == (2, D("88750.00"), D("90000.00"))
    assert overall.variance_arr == D("1250.00")
    assert overall.accuracy == 1 - D("1250") / D("88750")
    assert overall.still_open == 7
    assert by_csm[other_csm.pk].closed == 2
    # The Renewals page reads the same figures from the forecast's one scan.
    f = selectors.forecast(quarter=Q1, csm_ids=None, today=TODAY)
    assert f.accuracy_total == overall
    assert f.accuracy == by_csm


def test_accuracy_is_null_without_expected_and_floored_at_zero():
    assert selectors.Accuracy().accuracy is None
    assert selectors.Accuracy(closed=1, expected_arr=D(100), actual_arr=D(350)).accuracy == 0


def test_weekly_snapshot_is_replaced_when_taken_twice_and_shows_the_mix(book, admin_user):
    n = forecast_snapshot_take(day=TODAY)
    assert n == 10  # the 9 of Q1 and the one of Q2
    assert forecast_snapshot_take(day=TODAY + dt.timedelta(days=2)) == 10  # same week: replaced
    assert sum(RenewalForecastSnapshot.objects.values_list("renewals", flat=True)) == 10
    services.renewal_forecast_set(user=admin_user, renewal=book["r5"], category="likely")
    call_command("renewal_forecast_snapshot", "--date", (TODAY + dt.timedelta(days=7)).isoformat())
    weeks = selectors.weekly_mix(quarter=Q1, csm_ids=None)
    assert [w.taken_on for w in weeks] == [week_of(TODAY), week_of(TODAY) + dt.timedelta(days=7)]
    assert weeks[0].arr_by_category[""] == D("24000.00")
    assert weeks[1].arr_by_category[""] == D("0.00")
    assert weeks[1].arr_by_category["likely"] == D("164000.00")
    assert weeks[0].expected_arr == D("381750.00")
    assert weeks[1].expected_arr == D("405750.00")
    assert weeks[0].arr_due == D("484000.00")


def test_ingested_outcome_freezes_and_reopening_forgets(book, admin_user):
    r1 = book["r1"]
    result = renewals_upsert(
        rows=[{"customer": "R1", "due_date": r1.due_date, "arr_due": D(120000), "outcome": "churned"}]
    )
    assert result["updated"] == 1
    r1.refresh_from_db()
    assert r1.closed_expected_arr == D("120000.00")
    renewals_upsert(
        rows=[{"customer": "R1", "due_date": r1.due_date, "arr_due": D(120000), "outcome": "pending"}]
    )
    r1.refresh_from_db()
    assert r1.closed_expected_arr is None
    ingested = AuditEntry.objects.filter(object_type="renewal", object_id=str(r1.pk), actor=None).order_by(
        "id"
    )
    assert [e.changes["outcome"] for e in ingested] == [
        {"before": "pending", "after": "churned"},
        {"before": "churned", "after": "pending"},
    ]
    assert ingested[0].changes["closed_expected_arr"] == {"before": None, "after": "120000.00"}
    renewals_upsert(
        rows=[{"customer": "R1", "due_date": r1.due_date, "arr_due": D(120000), "outcome": "pending"}]
    )
    assert ingested.count() == 2  # unchanged: nothing to audit


def test_forecast_changes_are_audited(book):
    entry = AuditEntry.objects.filter(object_type="renewal", object_id=str(book["r2"].pk)).get()
    assert entry.changes["category"] == {"before": "", "after": "likely"}
    assert entry.changes["expected_arr_override"] == {"before": None, "after": "50000"}
    assert entry.customer_id == book["r2"].customer_id


def test_quarters():
    assert parse_quarter("2027-Q1") == Q1
    assert (Q1.start, Q1.end) == (dt.date(2027, 1, 1), dt.date(2027, 3, 31))
    assert Quarter(2026, 4).end == dt.date(2026, 12, 31)
    for bad in ["2027-Q5", "2027Q1", "٢٠٢٧-Q1", "2100-Q1", "", "1899-Q4"]:
        assert parse_quarter(bad) is None
    choices = quarter_choices(TODAY)
    assert len(choices) == 9
    assert choices[4] == quarter_of(TODAY) == Q1


def test_the_weekly_task_takes_a_snapshot(book):
    assert renewal_forecast_snapshot.apply(args=[TODAY.isoformat()]).get() == 10
    assert RenewalForecastSnapshot.objects.filter(taken_on=week_of(TODAY)).exists()
