"""What each connector received or sent, for the Integrations page (docs/integrations.md#activity)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Max, Q, Sum
from django.utils import timezone

from .models import ConnectorActivity

PAYLOAD_MAX_CHARS = 20_000
ERRORS_SHOWN = 50


def trimmed(payload: Any) -> Any:
    """The payload as stored beside an error: as is when small, else its first characters as text."""
    text = json.dumps(payload, default=str)
    if len(text) <= PAYLOAD_MAX_CHARS:
        return json.loads(text)
    return {"truncated": text[:PAYLOAD_MAX_CHARS]}


def record_received(connector: str, *, kind: str = "", items: int = 1) -> ConnectorActivity:
    return ConnectorActivity.objects.create(connector=connector, kind=kind[:60], items=max(items, 0))


def record_error(connector: str, error: str, *, kind: str = "", payload: Any = None, items: int = 1):
    return ConnectorActivity.objects.create(
        connector=connector,
        kind=kind[:60],
        items=max(items, 0),
        error=error or "error",
        payload=None if payload is None else trimmed(payload),
    )


def summary(connector: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Last activity, events in the last 24 h, errors in the last 24 h (two aggregate queries)."""
    now = now or timezone.now()
    rows = ConnectorActivity.objects.filter(connector=connector)
    last = rows.aggregate(last=Max("at"))["last"]
    day = rows.filter(at__gt=now - dt.timedelta(hours=24)).aggregate(
        n_items=Sum("items"), n_errors=Sum("items", filter=~Q(error=""))
    )
    return {"last_at": last, "items_24h": day["n_items"] or 0, "errors_24h": day["n_errors"] or 0}


def last_errors(connector: str, *, limit: int = ERRORS_SHOWN) -> list[ConnectorActivity]:
    return list(
        ConnectorActivity.objects.filter(connector=connector).exclude(error="").order_by("-at")[:limit]
    )
