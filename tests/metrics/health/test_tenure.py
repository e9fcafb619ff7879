"""Tenure (docs/health.md#tenure): days since the contract started, or since the first paying MRR row."""

from __future__ import annotations

import pytest

from metrics.health.factors import get_factor
from tests.factories import CustomerFactory

from .conftest import DAY, days_ago, ledger_before

pytestmark = pytest.mark.django_db
FACTOR = get_factor("tenure")


def test_days_since_the_contract_start_or_else_the_first_paying_row():
    contract = CustomerFactory(contract_start=days_ago(400))
    ledger_before(contract, (30, 100))  # the contract start wins over the ledger
    no_contract = CustomerFactory(contract_start=None)
    ledger_before(no_contract, (300, 0), (45, 100))  # a 0 row is not paying: from the 100 row
    future = CustomerFactory(contract_start=days_ago(-10))  # starts after the day: missing
    nothing = CustomerFactory(contract_start=None)  # no start, no ledger: missing
    got = FACTOR.readings(customer_ids=[c.pk for c in (contract, no_contract, future, nothing)], day=DAY)
    assert {cid: r.value for cid, r in got.items()} == {contract.pk: 400.0, no_contract.pk: 45.0}
    assert FACTOR.format_raw(45.0, got[no_contract.pk].detail) == f"45 days (since {days_ago(45)})"


def test_a_ledger_row_after_the_day_is_not_read():
    later = CustomerFactory(contract_start=None)
    ledger_before(later, (-5, 100))  # first paid five days after the day
    assert FACTOR.readings(customer_ids=[later.pk], day=DAY) == {}
