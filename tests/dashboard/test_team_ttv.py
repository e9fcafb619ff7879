"""Time to value on the team page (onboarding_by_csm): its quick answer (the day the k-th user first came,
when k users were still active that day), its exact walk (everyone else) and the stored days of the refresh
all equal the engine's metrics.engagement.first_utilization_day, customer by customer, for random usage
with lapses."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer, Role
from dashboard.team import onboarding_by_csm
from metrics.engagement import engagement_metrics
from metrics.models import UsageUserDay, ValueMilestone
from metrics.services import first_utilization_refresh
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = dt.date(2025, 4, 1)
END = dt.date(2025, 6, 30)


def _customers(specs: list[tuple[int, int, dict[str, list[int]]]]) -> list[tuple[Customer, int]]:
    """One CSM per customer (so the per-CSM sums are that customer's figure): (licenses, start offset, usage
    as {user: [day offsets from the contract start]})."""
    out = []
    for i, (licenses, offset, usage) in enumerate(specs):
        csm = UserFactory(email=f"ttv{i}@example.com", role=Role.CSM)
        customer = Customer.objects.create(
            external_id=f"TTV-{i}",
            name=f"TTV {i}",
            csm=csm,
            licenses=licenses,
            contract_start=START + dt.timedelta(days=offset),
        )
        UsageUserDay.objects.bulk_create(
            UsageUserDay(
                customer=customer, user_id=user, day=customer.contract_start + dt.timedelta(days=d), events=1
            )
            for user, days in usage.items()
            for d in set(days)
        )
        out.append((customer, csm.pk))
    return out


def _check(customers: list[tuple[Customer, int]], as_of: dt.date) -> None:
    """Walked (the usage went in without ingestion, so no stored day is current), then from the stored days
    the refresh computes (metrics.models.FirstUtilizationDay)."""
    for stored in (False, True):
        if stored:
            first_utilization_refresh()
        found = onboarding_by_csm(csm_ids=[pk for _c, pk in customers], start=START, end=END, as_of=as_of)
        for customer, pk in customers:
            expected = engagement_metrics(customer=customer, as_of=as_of).time_to_value_days
            row = found[pk]
            assert row["started"] == 1
            assert row["ttv_customers"] == (expected is not None), (customer.external_id, stored)
            assert row["ttv_days_sum"] == (expected or 0), (customer.external_id, stored)


def test_quick_answer_and_exact_walk_match_the_engine():
    customers = _customers(
        [
            # k = 1: the first use on or after the start.
            (10, 0, {"a": [5, 8]}),
            # k = 1, used before the start only (still active on day 0): the start itself.
            (10, 3, {"a": [-10]}),
            # k = 2: "a" lapsed (last use day -20, active to day 9) before "b" came on day 15, so the day
            # the second user came is not the answer (the exact walk): "a" returns on day 40.
            (20, 0, {"a": [-20, 40], "b": [15, 30, 45]}),
            # k = 2, both active when the second came: day 12.
            (20, 10, {"a": [2, 20], "b": [12]}),
            # k = 3 with two users only: never.
            (30, 0, {"a": [1], "b": [2]}),
            # k = 2 reached only after as_of: none.
            (20, 0, {"a": [1, 25, 50, 75, 100], "b": [110]}),
            # licenses 0: none.
            (0, 0, {"a": [1]}),
        ]
    )
    _check(customers, as_of=END)
    _check(customers, as_of=START + dt.timedelta(days=20))


def test_a_milestone_earlier_than_usage_wins():
    [(customer, pk)] = _customers([(20, 0, {"a": [-20, 40], "b": [15]})])
    ValueMilestone.objects.create(
        customer=customer, achieved_on=customer.contract_start + dt.timedelta(days=7)
    )
    row = onboarding_by_csm(csm_ids=[pk], start=START, end=END, as_of=END)[pk]
    assert (row["ttv_customers"], row["ttv_days_sum"]) == (1, 7)


usage = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.lists(st.integers(min_value=-40, max_value=120), min_size=1, max_size=6),
    min_size=1,
    max_size=4,
)
specs = st.lists(
    st.tuples(st.sampled_from([5, 10, 20, 25, 30, 40]), st.integers(min_value=0, max_value=60), usage),
    min_size=1,
    max_size=5,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=specs, as_of_offset=st.integers(min_value=0, max_value=150))
def test_random_usage_matches_the_engine(db, specs, as_of_offset):
    UsageUserDay.objects.all().delete()
    Customer.objects.filter(external_id__startswith="TTV-").delete()
    _check(_customers(specs), as_of=START + dt.timedelta(days=as_of_offset))
