"""core.events: publish reaches the subscribers; unknown events and missing keys are refused."""

import pytest

from core import events


def test_publish_reaches_subscribers_once():
    got = []

    def listener(**kw):
        got.append(kw)

    events.subscribe("customer.churned", listener)
    events.subscribe("customer.churned", listener)
    try:
        assert events.has_subscribers("customer.churned")
        events.publish("customer.churned", customer_id=7, day="2027-01-01")
    finally:
        events.unsubscribe("customer.churned", listener)
    assert got == [{"event": "customer.churned", "customer_id": 7, "day": "2027-01-01"}]
    events.publish("customer.churned", customer_id=7, day="2027-01-01")
    assert len(got) == 1


def test_unknown_event_and_missing_keys_are_refused():
    with pytest.raises(events.UnknownEvent):
        events.publish("customer.exploded", customer_id=1)
    with pytest.raises(events.UnknownEvent):
        events.subscribe("nope", print)
    with pytest.raises(TypeError, match="needs day"):
        events.publish("customer.churned", customer_id=1)
