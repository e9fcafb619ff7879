"""core.events: publish reaches the subscribers; unknown events and missing keys are refused."""

import pytest

from core import events


@pytest.fixture(autouse=True)
def _only_this_tests_subscribers(monkeypatch):
    """The installed apps subscribe too (integrations writes rows); these tests are about the mechanism."""
    monkeypatch.setattr(events, "_subscribers", events.defaultdict(list))
    monkeypatch.setattr(events, "_batch_subscribers", events.defaultdict(list))


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


def test_publish_many_calls_a_batch_subscriber_once_and_a_plain_one_per_occurrence():
    plain, batches = [], []

    def one(**kw):
        plain.append(kw["customer_id"])

    def many(*, event, payloads):
        batches.append([p["customer_id"] for p in payloads])

    events.subscribe("customer.churned", one)
    events.subscribe_batch("customer.churned", many)
    try:
        events.publish_many(
            "customer.churned", [{"customer_id": 1, "day": "d"}, {"customer_id": 2, "day": "d"}]
        )
        events.publish("customer.churned", customer_id=3, day="d")
        events.publish_many("customer.churned", [])
        with pytest.raises(TypeError, match="needs day"):
            events.publish_many("customer.churned", [{"customer_id": 4}])
    finally:
        events.unsubscribe("customer.churned", one)
        events.unsubscribe("customer.churned", many)
    assert plain == [1, 2, 3]
    assert batches == [[1, 2], [3]]
