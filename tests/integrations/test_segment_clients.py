"""The official Segment and RudderStack Python libraries, unchanged but for host and write key, against a live
cshub (docs/integrations.md#segment-spec-tracking-api): identify, group and track reach the customer, its
contact and its usage, and after the live recompute its health factors move."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient

from accounts.models import Customer
from integrations.segment.keys import write_key_get_or_create
from metrics.health.live import health_live_recompute
from metrics.models import HealthSnapshot, UsageEvent

# live_server answers from another thread: its writes must be committed to be seen here.
pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = {
    # The clients' own defaults (batching on a background thread) but for host and key; gzip on for
    # RudderStack (its default) and on for Segment too, so both paths are exercised.
    "segment": lambda key, host, errors: SegmentClient(
        key, host=host, gzip=True, max_retries=0, on_error=lambda e, batch: errors.append(e)
    ),
    "rudderstack": lambda key, host, errors: RudderClient(
        key, host=host, max_retries=0, on_error=lambda e, batch: errors.append(e)
    ),
}


def factor(customer: Customer, key: str):
    snapshot = HealthSnapshot.objects.get(customer=customer, date=timezone.localdate())
    return next(c for c in snapshot.components if c["factor"] == key)


@pytest.mark.parametrize("library", sorted(CLIENTS))
def test_official_client_identify_group_track_move_the_customer(live_server, library):
    key = write_key_get_or_create()
    errors: list = []
    client = CLIENTS[library](key, live_server.url, errors)
    group_id = f"{library.upper()}-1"
    # The customer exists from an earlier group call with 10 seats and no usage: scored once.
    client.group("u-1", group_id, traits={"name": f"{library} Corp", "plan": "Growth", "seats": 10})
    client.flush()
    customer = Customer.objects.get(external_id=group_id)
    health_live_recompute()
    before = factor(customer, "license_utilization")

    now = timezone.now()
    client.identify("u-1", traits={"email": "dana@corp.test", "name": "Dana Ops", "title": "Ops lead"})
    for n in range(6):  # six active users out of ten seats
        client.track(f"u-{n}", "Report Exported", context={"groupId": group_id}, timestamp=now)
    client.track("u-1", "Dashboard Viewed", timestamp=now - dt.timedelta(hours=1))  # by the user's group
    client.page("u-2", name="Billing", context={"groupId": group_id}, timestamp=now)
    client.screen(anonymous_id="anon-1", name="Home", context={"groupId": group_id}, timestamp=now)
    client.flush()
    client.join()
    assert errors == []

    customer.refresh_from_db()
    assert (customer.name, customer.segment, customer.licenses) == (f"{library} Corp", "Growth", 10)
    assert list(customer.contacts.values_list("email", "name", "title")) == [
        ("dana@corp.test", "Dana Ops", "Ops lead")
    ]
    features = sorted(UsageEvent.objects.filter(customer=customer).values_list("feature", flat=True))
    assert features == ["Billing", "Dashboard Viewed", "Home", *["Report Exported"] * 6]

    health_live_recompute()
    after = factor(customer, "license_utilization")
    assert before["raw_value"] in (None, 0)
    assert after["raw_value"] == pytest.approx(0.7)  # 7 active users (u-0…u-5, anon-1) of 10 seats
    assert after["score"] > (before["score"] or 0)


@pytest.mark.parametrize("library", sorted(CLIENTS))
def test_official_client_with_a_wrong_key_is_told_so(live_server, library):
    write_key_get_or_create()
    errors: list = []
    client = CLIENTS[library]("not-the-key", live_server.url, errors)
    client.track("u-1", "Report Exported", context={"groupId": "X-1"})
    client.flush()
    client.join()
    assert len(errors) == 1
    assert getattr(errors[0], "status", None) == 401
    assert UsageEvent.objects.count() == 0
