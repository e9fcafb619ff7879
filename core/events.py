"""Domain events: a lower layer says what happened, higher layers subscribe (docs/architecture.md#events).

The layers forbid `playbooks` or `metrics` from importing `integrations` (outbound webhooks, Slack) or the
notifications, so the place where something happens calls `publish(EVENT, **payload)` and the interested
apps `subscribe` in their `AppConfig.ready()`. Subscribers run synchronously, inside the publisher's
transaction: they must only write rows (an outbox message, a notification) so that the event and what it
causes commit or roll back together; anything slow happens later from those rows.

Events and their payloads (ids, not objects, so a subscriber loads what it needs):
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

EVENTS: dict[str, tuple[str, ...]] = {
    # a customer's health band differs from its previous snapshot's (day: the snapshot's date)
    "health.band_changed": ("customer_id", "day", "band", "previous_band", "score"),
    # a playbook run started on a customer (by a trigger or by hand)
    "playbook_run.started": ("run_id", "customer_id", "playbook_id"),
    # a task was completed (by a person or by the event that completes it)
    "task.completed": ("task_id", "customer_id", "user_id"),
    # a task got an assignee (new or reassigned); by_user_id is None when the system assigned it
    "task.assigned": ("task_id", "customer_id", "assignee_id", "by_user_id"),
    # a contact answered a survey
    "survey.answered": ("response_id", "customer_id", "contact_id", "kind", "score"),
    # a customer churned (MRR went to 0, or its lifecycle was set to churned) on `day`
    "customer.churned": ("customer_id", "day"),
    # a note was written on a customer (its text, for @mentions)
    "note.created": ("note_id", "customer_id", "author_id", "text"),
    # an in-app notification was written for a person (Slack delivers the personal ones where set up)
    "notification.created": ("notification_id", "user_id", "kind"),
}

Subscriber = Callable[..., Any]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)
# Subscribers that take several occurrences in one call, `fn(event=..., payloads=[...])`: a bulk write (a
# chunk of the nightly recompute, a ledger batch) then costs them one lookup, not one per occurrence.
_batch_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


class UnknownEvent(KeyError):
    pass


def subscribe(event: str, fn: Subscriber) -> None:
    """Call `fn(event=event, **payload)` on each publish of `event`; subscribing twice is one subscription."""
    if event not in EVENTS:
        raise UnknownEvent(event)
    if fn not in _subscribers[event]:
        _subscribers[event].append(fn)


def subscribe_batch(event: str, fn: Subscriber) -> None:
    """Call `fn(event=event, payloads=[payload, …])` once per publish or publish_many of `event`."""
    if event not in EVENTS:
        raise UnknownEvent(event)
    if fn not in _batch_subscribers[event]:
        _batch_subscribers[event].append(fn)


def unsubscribe(event: str, fn: Subscriber) -> None:
    for registry in (_subscribers, _batch_subscribers):
        if fn in registry.get(event, []):
            registry[event].remove(fn)


def _checked(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    keys = EVENTS.get(event)
    if keys is None:
        raise UnknownEvent(event)
    missing = [k for k in keys if k not in payload]
    if missing:
        raise TypeError(f"{event} needs {', '.join(missing)}")
    return payload


def publish(event: str, **payload: Any) -> None:
    """Tell the subscribers of `event` in the caller's transaction; the payload must carry its keys."""
    publish_many(event, [payload])


def publish_many(event: str, payloads: Sequence[dict[str, Any]]) -> None:
    """Several occurrences of `event` at once (a bulk write), each announced once, in the caller's
    transaction: per-occurrence subscribers are called for each, batch subscribers once with all of them."""
    payloads = [_checked(event, dict(p)) for p in payloads]
    if not payloads:
        if event not in EVENTS:
            raise UnknownEvent(event)
        return
    for payload in payloads:
        for fn in list(_subscribers.get(event, ())):
            fn(event=event, **payload)
    for fn in list(_batch_subscribers.get(event, ())):
        fn(event=event, payloads=payloads)


def has_subscribers(event: str) -> bool:
    """Whether anyone listens, so a bulk publisher can skip building payloads nobody reads."""
    return bool(_subscribers.get(event)) or bool(_batch_subscribers.get(event))
