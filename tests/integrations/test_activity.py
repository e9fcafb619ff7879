"""Connector activity (integrations.activity): last event, 24-hour counts and errors."""

import datetime as dt

import pytest
from django.utils import timezone

from integrations import activity
from integrations.models import ConnectorActivity

pytestmark = pytest.mark.django_db


def test_summary_counts_the_last_24_hours_and_errors():
    now = timezone.now()
    activity.record_received("segment", kind="batch", items=100)
    activity.record_error("segment", "unknown write key", kind="batch", items=3, payload={"a": 1})
    old = activity.record_received("segment", kind="batch", items=50)
    ConnectorActivity.objects.filter(pk=old.pk).update(at=now - dt.timedelta(hours=25))
    activity.record_received("stripe", kind="invoice.paid")

    got = activity.summary("segment", now=now)

    assert got["items_24h"] == 103
    assert got["errors_24h"] == 3
    assert got["last_at"] is not None
    assert [e.error for e in activity.last_errors("segment")] == ["unknown write key"]
    assert activity.summary("zendesk") == {"last_at": None, "items_24h": 0, "errors_24h": 0}


def test_big_payloads_are_trimmed():
    entry = activity.record_error("stripe", "bad", payload={"x": "y" * 50_000})
    assert len(entry.payload["truncated"]) == activity.PAYLOAD_MAX_CHARS
