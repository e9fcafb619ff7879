"""The stored first 10 % utilization day (metrics.models.FirstUtilizationDay): the refresh stores the engine's
answer, ingestion makes a row stale exactly when new usage could move it, and the team page's time to value
reads current rows and walks the others, equal to the engine either way."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from accounts.models import Customer, Role
from dashboard.team import onboarding_by_csm
from metrics.engagement import first_utilization_day
from metrics.models import FirstUtilizationDay
from metrics.services import first_utilization_refresh, usage_events_ingest
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
_ids = itertools.count()
START = dt.date(2025, 4, 1)
FAR = dt.date(2100, 1, 1)


def use(customer: Customer, user: str, *days: int) -> None:
    """`user` used the product on each day (offsets from the contract start), through ingestion."""
    usage_events_ingest(
        rows=[
            {
                "event_id": f"fu-{next(_ids)}",
                "customer": customer.external_id,
                "user_id": user,
                "feature": "reports",
                "occurred_at": dt.datetime.combine(
                    customer.contract_start + dt.timedelta(days=d), dt.time(12), tzinfo=dt.UTC
                ),
                "quantity": 1,
            }
            for d in days
        ]
    )


def row(customer: Customer) -> FirstUtilizationDay:
    return FirstUtilizationDay.objects.get(customer=customer)


def current(customer: Customer) -> bool:
    r = row(customer)
    customer.refresh_from_db()
    return (r.computed_version, r.licenses, r.contract_start) == (
        r.version,
        customer.licenses,
        customer.contract_start,
    )


def engine(customer: Customer) -> dt.date | None:
    customer.refresh_from_db()
    return first_utilization_day(customer=customer, as_of=FAR)


def test_refresh_stores_the_engines_answer_for_every_customer():
    reached = CustomerFactory(licenses=20, contract_start=START)  # k = 2
    use(reached, "a", -20, 40)  # "a" lapses (active to day 9) before "b" comes
    use(reached, "b", 15, 30, 45)
    never = CustomerFactory(licenses=30, contract_start=START)  # k = 3, two users
    use(never, "a", 1)
    use(never, "b", 2)
    idle = CustomerFactory(licenses=10, contract_start=START)  # no usage at all
    no_licenses = CustomerFactory(licenses=0, contract_start=START)
    use(no_licenses, "a", 1)
    no_start = CustomerFactory(licenses=10, contract_start=None)

    assert first_utilization_refresh() == 5
    assert row(reached).day == START + dt.timedelta(days=40) == engine(reached)
    for customer in (never, idle, no_licenses, no_start):
        assert row(customer).day is None
        assert engine(customer) is None
    assert all(current(c) for c in (reached, never, idle, no_licenses, no_start))
    assert first_utilization_refresh() == 0  # nothing is stale any more


def test_ingest_makes_a_row_stale_only_when_new_usage_could_move_it():
    customer = CustomerFactory(licenses=10, contract_start=START)  # k = 1
    use(customer, "a", 20)
    first_utilization_refresh()
    assert row(customer).day == START + dt.timedelta(days=20)
    version = row(customer).version

    use(customer, "b", 20, 25, 90)  # on or after the answer: it cannot move
    assert row(customer).version == version
    assert current(customer)

    use(customer, "c", 5)  # before it: stale, and the refresh moves the answer
    assert not current(customer)
    assert first_utilization_refresh() == 1
    assert row(customer).day == START + dt.timedelta(days=5) == engine(customer)


def test_ingest_makes_a_not_yet_reached_row_stale_and_creates_missing_rows():
    customer = CustomerFactory(licenses=20, contract_start=START)  # k = 2
    use(customer, "a", 3)
    assert not current(customer)  # the ingest created the row, stale
    first_utilization_refresh()
    assert row(customer).day is None
    assert current(customer)

    use(customer, "b", 50)  # any usage may reach it now: stale
    assert not current(customer)
    first_utilization_refresh()
    # "a" was active on days 3..32 only, "b" from day 50: never two at once.
    assert row(customer).day is None
    assert engine(customer) is None
    use(customer, "a", 60)
    first_utilization_refresh()
    assert row(customer).day == START + dt.timedelta(days=60) == engine(customer)


def test_a_licenses_or_contract_start_change_is_not_current_until_refreshed():
    customer = CustomerFactory(licenses=10, contract_start=START)
    use(customer, "a", 10)
    use(customer, "b", 30)
    first_utilization_refresh()
    assert row(customer).day == START + dt.timedelta(days=10)

    Customer.objects.filter(pk=customer.pk).update(licenses=20)  # k = 2: both active from day 30
    assert not current(customer)
    assert first_utilization_refresh() == 1
    assert row(customer).day == START + dt.timedelta(days=30) == engine(customer)

    Customer.objects.filter(pk=customer.pk).update(contract_start=START + dt.timedelta(days=35))
    assert not current(customer)
    first_utilization_refresh()
    assert row(customer).day == START + dt.timedelta(days=35) == engine(customer)


def _ttv(customer: Customer, as_of: dt.date) -> tuple[int, int]:
    found = onboarding_by_csm(csm_ids=[customer.csm_id], start=START, end=START, as_of=as_of)[customer.csm_id]
    return found["ttv_customers"], found["ttv_days_sum"]


def test_the_team_page_reads_current_rows_and_walks_the_others():
    csm = UserFactory(role=Role.CSM)
    customer = CustomerFactory(csm=csm, licenses=10, contract_start=START)
    use(customer, "a", 12)
    first_utilization_refresh()
    assert _ttv(customer, START + dt.timedelta(days=30)) == (1, 12)
    assert _ttv(customer, START + dt.timedelta(days=11)) == (0, 0)  # reached after as_of: none

    # The page uses the stored day while the row is current: a planted answer shows (so the read is real) …
    FirstUtilizationDay.objects.filter(customer=customer).update(day=START + dt.timedelta(days=7))
    assert _ttv(customer, START + dt.timedelta(days=30)) == (1, 7)
    # … and walks the usage once the row is not current (the customer's licenses changed since).
    Customer.objects.filter(pk=customer.pk).update(licenses=5)
    assert _ttv(customer, START + dt.timedelta(days=30)) == (1, 12)
    FirstUtilizationDay.objects.filter(customer=customer).update(version=99)
    Customer.objects.filter(pk=customer.pk).update(licenses=10)
    assert _ttv(customer, START + dt.timedelta(days=30)) == (1, 12)


def test_the_refresh_is_a_scheduled_task():
    from cshub.celery import app
    from metrics.tasks import first_utilization_refresh as task

    entry = app.conf.beat_schedule["first-utilization-refresh"]
    assert entry["task"] == task.name == "metrics.tasks.first_utilization_refresh"
    customer = CustomerFactory(licenses=10, contract_start=START)
    use(customer, "a", 4)
    assert task.delay().get() == 1
    assert row(customer).day == START + dt.timedelta(days=4)
    assert current(customer)


def test_the_refresh_command():
    from io import StringIO

    from django.core.management import call_command

    customer = CustomerFactory(licenses=10, contract_start=START)
    use(customer, "a", 2)
    out = StringIO()
    call_command("refresh_first_utilization", stdout=out)
    assert "Recomputed 1 customer(s)" in out.getvalue()
    assert row(customer).day == START + dt.timedelta(days=2)
