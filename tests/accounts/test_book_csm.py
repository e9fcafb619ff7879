"""A fact's copy of its customer's current CSM (`book_csm` on touchpoints, pulses, MRR ledger rows and
renewals), kept by the database's triggers (metrics migration 0008), whatever writes the rows — on SQLite and
on PostgreSQL. The team page groups facts by it (dashboard.team)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Customer, Pulse, Touchpoint
from accounts.services import customers_upsert
from dashboard.team import team_performance
from metrics.models import MrrEntry, Renewal
from metrics.services import mrr_upsert, renewals_upsert
from tests.concurrency import waits_while_held
from tests.factories import (
    CustomerFactory,
    MrrEntryFactory,
    PulseFactory,
    RenewalFactory,
    TouchpointFactory,
    UserFactory,
)
from tests.requirements import require_postgres

FACTS = (Touchpoint, Pulse, MrrEntry, Renewal)


def _copies(customer: Customer) -> dict[str, set[int | None]]:
    """Each fact kind's set of book_csm values for the customer's rows (read from the database)."""
    return {
        model.__name__: set(model.objects.filter(customer=customer).values_list("book_csm_id", flat=True))
        for model in FACTS
    }


def _all(value: int | None) -> dict[str, set[int | None]]:
    return {model.__name__: {value} for model in FACTS}


def _facts(customer: Customer) -> None:
    TouchpointFactory(customer=customer)
    PulseFactory(customer=customer)
    MrrEntryFactory(customer=customer, effective_date=dt.date(2025, 1, 1))
    RenewalFactory(customer=customer)


@pytest.fixture
def two_csms():
    return UserFactory(email="first.csm@example.com"), UserFactory(email="second.csm@example.com")


@pytest.mark.django_db
class TestCopies:
    def test_a_new_fact_takes_its_customers_csm(self, two_csms):
        first, _ = two_csms
        customer = CustomerFactory(csm=first)
        _facts(customer)
        assert _copies(customer) == _all(first.pk)

    def test_bulk_inserts_take_it_too(self, two_csms):
        first, _ = two_csms
        customer = CustomerFactory(csm=first)
        Touchpoint.objects.bulk_create(
            [Touchpoint(customer=customer, kind="call", summary="x", occurred_at=timezone.now())]
        )
        Pulse.objects.bulk_create([Pulse(customer=customer, score=3)])
        MrrEntry.objects.bulk_create(
            [MrrEntry(customer=customer, effective_date=dt.date(2025, 1, 1), mrr=10)]
        )
        Renewal.objects.bulk_create([Renewal(customer=customer, due_date=dt.date(2025, 6, 1), arr_due=100)])
        assert _copies(customer) == _all(first.pk)

    def test_a_customer_without_a_csm_gives_none(self):
        customer = CustomerFactory(csm=None)
        _facts(customer)
        assert _copies(customer) == _all(None)

    @pytest.mark.parametrize("how", ["save", "queryset", "import"])
    def test_facts_follow_their_customer_to_another_csm(self, two_csms, how):
        first, second = two_csms
        customer, bystander = CustomerFactory(csm=first), CustomerFactory(csm=first)
        _facts(customer)
        _facts(bystander)
        if how == "save":
            customer.csm = second
            customer.save()
        elif how == "queryset":
            Customer.objects.filter(pk=customer.pk).update(csm=second)
        else:
            customers_upsert(rows=[{"external_id": customer.external_id, "csm_email": second.email}])
        assert _copies(customer) == _all(second.pk)
        assert _copies(bystander) == _all(first.pk)

    def test_unassigning_and_deleting_the_csm_clear_the_copies(self, two_csms):
        first, second = two_csms
        unassigned, orphaned = CustomerFactory(csm=first), CustomerFactory(csm=second)
        _facts(unassigned)
        _facts(orphaned)
        Customer.objects.filter(pk=unassigned.pk).update(csm=None)
        second.delete()  # customer.csm is SET_NULL
        assert _copies(unassigned) == _all(None)
        assert _copies(orphaned) == _all(None)

    def test_a_written_copy_is_overwritten_with_the_truth(self, two_csms):
        first, second = two_csms
        customer = CustomerFactory(csm=first)
        _facts(customer)
        for model in FACTS:
            model.objects.filter(customer=customer).update(book_csm=second)
        assert _copies(customer) == _all(first.pk)

    def test_a_fact_moved_to_another_customer_takes_that_customers_csm(self, two_csms):
        first, second = two_csms
        a, b = CustomerFactory(csm=first), CustomerFactory(csm=second)
        _facts(a)
        for model in FACTS:
            model.objects.filter(customer=a).update(customer=b)
        assert _copies(b) == _all(second.pk)

    def test_ingestion_endpoints_write_it(self, two_csms):
        first, _ = two_csms
        customer = CustomerFactory(csm=first)
        mrr_upsert(
            rows=[{"customer": customer.external_id, "effective_date": dt.date(2025, 2, 1), "mrr": "50"}]
        )
        renewals_upsert(
            rows=[{"customer": customer.external_id, "due_date": dt.date(2025, 9, 1), "arr_due": "1200"}]
        )
        assert set(MrrEntry.objects.filter(customer=customer).values_list("book_csm_id", flat=True)) == {
            first.pk
        }
        assert set(Renewal.objects.filter(customer=customer).values_list("book_csm_id", flat=True)) == {
            first.pk
        }

    def test_the_team_page_moves_every_figure_with_the_customer(self, two_csms, admin_user):
        """One customer with a touchpoint, a fresh pulse, MRR and a renewal in the quarter moves book: every
        figure of the team page that counts them moves from the first CSM's row to the second's."""
        first, second = two_csms
        start, end = dt.date(2025, 4, 1), dt.date(2025, 6, 30)
        customer = CustomerFactory(csm=first)
        TouchpointFactory(customer=customer, occurred_at=dt.datetime(2025, 5, 2, 12, tzinfo=dt.UTC))
        PulseFactory(customer=customer, created_at=dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC))
        MrrEntryFactory(customer=customer, effective_date=dt.date(2025, 1, 1), mrr=Decimal("100.00"))
        RenewalFactory(customer=customer, due_date=dt.date(2025, 5, 15), outcome="renewed")

        def figures():
            rows = {r.csm: r for r in team_performance(viewer=admin_user, start=start, end=end).rows}
            return {
                user: (r.book_size, r.touchpoints, r.fresh_pulse_customers, r.renewals_due, r.arr)
                for user, r in rows.items()
                if user in (first, second)
            }

        one = (1, 1, 1, 1, Decimal("1200.00"))
        none = (0, 0, 0, 0, Decimal("0.00"))
        assert figures() == {first: one, second: none}
        customer.csm = second
        customer.save()
        assert figures() == {first: none, second: one}

    @pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
    def test_fresh_pulses_are_counted_on_days_in_time_zone(self, two_csms, admin_user, settings, zone):
        """A pulse is fresh when logged on one of the 30 days (in TIME_ZONE) ending on the as-of day: the
        raw statement compares with the day's start as the ORM would (in UTC on SQLite)."""
        settings.TIME_ZONE = zone
        first, _ = two_csms
        end = dt.date(2025, 6, 30)
        first_day = dt.datetime.combine(end - dt.timedelta(days=29), dt.time.min, tzinfo=ZoneInfo(zone))
        inside, outside = CustomerFactory(csm=first), CustomerFactory(csm=first)
        PulseFactory(customer=inside, created_at=first_day + dt.timedelta(minutes=30))
        PulseFactory(customer=outside, created_at=first_day - dt.timedelta(minutes=30))
        PulseFactory(customer=outside, created_at=first_day + dt.timedelta(days=30, minutes=30))  # after end
        rows = {
            r.csm: r for r in team_performance(viewer=admin_user, start=dt.date(2025, 4, 1), end=end).rows
        }
        assert rows[first].fresh_pulse_customers == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    """PostgreSQL: a fact inserted while its customer changes CSM ends with the new CSM, in either order."""

    def test_a_csm_change_waits_for_an_insert_in_flight_and_rewrites_its_row(self, two_csms):
        require_postgres()
        first, second = two_csms
        customer = CustomerFactory(csm=first)
        waited = waits_while_held(
            lambda: TouchpointFactory(customer=customer),
            lambda: Customer.objects.filter(pk=customer.pk).update(csm=second),
        )
        assert waited, "the CSM change must wait for the insert that read the old CSM"
        assert _copies(customer)["Touchpoint"] == {second.pk}

    def test_an_insert_waits_for_a_csm_change_in_flight_and_reads_the_new_csm(self, two_csms):
        require_postgres()
        first, second = two_csms
        customer = CustomerFactory(csm=first)
        waited = waits_while_held(
            lambda: Customer.objects.filter(pk=customer.pk).update(csm=second),
            lambda: TouchpointFactory(customer=customer),
        )
        assert waited, "the insert must wait for the CSM change"
        assert _copies(customer)["Touchpoint"] == {second.pk}

    def test_other_writes_to_the_customer_do_not_hold_up_inserts(self, two_csms):
        require_postgres()
        first, _ = two_csms
        customer = CustomerFactory(csm=first)
        waited = waits_while_held(
            lambda: Customer.objects.filter(pk=customer.pk).update(health_score=Decimal("55.0")),
            lambda: TouchpointFactory(customer=customer),
        )
        assert not waited, "a health score update must not block logging a touchpoint"
        assert _copies(customer)["Touchpoint"] == {first.pk}

    def test_an_import_moving_customers_and_an_mrr_push_for_them_never_deadlock(self):
        """Both lock the customers in id order (the import locks those changing CSM before its UPDATE,
        bulk_upsert's lock_on_change; the push inserts its new facts sorted by customer), whatever order the
        rows came in. Without it, 20 rounds of a 300-customer CSM import racing an MRR push in reverse
        order hit a PostgreSQL deadlock in each of five runs."""
        require_postgres()
        first, second = UserFactory(email="a.csm@example.com"), UserFactory(email="b.csm@example.com")
        customers = [CustomerFactory(csm=first) for _ in range(300)]
        errors: list[str] = []
        for round_ in range(20):
            target = second if round_ % 2 == 0 else first
            barrier = threading.Barrier(2)

            def move(target=target, barrier=barrier, round_=round_) -> None:
                try:
                    barrier.wait()
                    customers_upsert(
                        rows=[{"external_id": c.external_id, "csm_email": target.email} for c in customers]
                    )
                except BaseException as exc:
                    errors.append(f"import, round {round_}: {exc}")
                finally:
                    connection.close()

            def push(barrier=barrier, round_=round_) -> None:
                day = dt.date(2025, 1, 1) + dt.timedelta(days=round_)
                try:
                    barrier.wait()
                    mrr_upsert(
                        rows=[
                            {"customer": c.external_id, "effective_date": day, "mrr": "10"}
                            for c in reversed(customers)
                        ]
                    )
                except BaseException as exc:
                    errors.append(f"MRR push, round {round_}: {exc}")
                finally:
                    connection.close()

            threads = [threading.Thread(target=move), threading.Thread(target=push)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        assert not errors
        assert set(Customer.objects.values_list("csm_id", flat=True)) == {
            first.pk
        }  # the last round moved back
        assert set(MrrEntry.objects.values_list("book_csm_id", flat=True)) == {first.pk}
        assert MrrEntry.objects.count() == 20 * 300
