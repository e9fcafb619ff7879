"""Zendesk's REST API, the two calls cshub makes (docs/integrations.md#zendesk).

- the cursor-based incremental ticket export, `GET /api/v2/incremental/tickets/cursor.json?start_time=T`
  then `?cursor=C` until `end_of_stream`, with the tickets' metric sets and organizations side-loaded;
- `GET /api/v2/tickets/show_many.json?ids=…` with the same side-loads, for the tickets a webhook names.

Plain `requests` with API-token authentication (`{email}/token`): two GETs need no client library, and the
maintained Python wrappers do not expose the cursor-based export with side-loads. A 429 is waited out as its
Retry-After says (the export allows 10 requests a minute).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

SIDELOADS = "metric_sets,organizations"
TIMEOUT_SECONDS = 30
MAX_RETRY_AFTER = 120
SHOW_MANY_MAX = 100  # Zendesk's limit of ids per show_many call


class ZendeskError(Exception):
    pass


class NotConfigured(ZendeskError):
    pass


@dataclass
class Page:
    """Tickets with what was side-loaded for them."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    metric_sets: list[dict[str, Any]] = field(default_factory=list)
    organizations: list[dict[str, Any]] = field(default_factory=list)


def base_url() -> str:
    if settings.ZENDESK_URL:
        return settings.ZENDESK_URL
    if settings.ZENDESK_SUBDOMAIN:
        return f"https://{settings.ZENDESK_SUBDOMAIN}.zendesk.com"
    raise NotConfigured("Set ZENDESK_SUBDOMAIN (or ZENDESK_URL), ZENDESK_EMAIL and ZENDESK_API_TOKEN.")


def _session() -> requests.Session:
    if not (settings.ZENDESK_EMAIL and settings.ZENDESK_API_TOKEN):
        raise NotConfigured("Set ZENDESK_EMAIL and ZENDESK_API_TOKEN for the Zendesk API.")
    session = requests.Session()
    session.auth = (f"{settings.ZENDESK_EMAIL}/token", settings.ZENDESK_API_TOKEN)
    session.headers["Accept"] = "application/json"
    return session


def _get(session: requests.Session, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    for _ in range(5):
        response = session.get(url, params=params, timeout=TIMEOUT_SECONDS)
        if response.status_code == 429:
            time.sleep(min(int(response.headers.get("Retry-After") or 10), MAX_RETRY_AFTER))
            continue
        if response.status_code != 200:
            raise ZendeskError(f"GET {url}: HTTP {response.status_code}: {response.text[:300]}")
        return response.json()
    raise ZendeskError(f"GET {url}: still rate limited after 5 tries")


def _page(data: dict[str, Any]) -> Page:
    return Page(
        tickets=list(data.get("tickets") or []),
        metric_sets=list(data.get("metric_sets") or []),
        organizations=list(data.get("organizations") or []),
    )


def incremental_tickets(*, since: dt.datetime) -> Iterator[Page]:
    """Every ticket created or changed since `since`, page by page (cursor-based incremental export)."""
    url = f"{base_url()}/api/v2/incremental/tickets/cursor.json"
    session = _session()
    params: dict[str, Any] = {"start_time": max(int(since.timestamp()), 0), "include": SIDELOADS}
    while True:
        data = _get(session, url, params)
        yield _page(data)
        if data.get("end_of_stream") or not data.get("after_cursor"):
            return
        params = {"cursor": data["after_cursor"], "include": SIDELOADS}


def tickets_by_id(ids: Sequence[int]) -> Iterator[Page]:
    """The tickets with these ids (show_many, 100 at a time)."""
    url = f"{base_url()}/api/v2/tickets/show_many.json"
    session = _session()
    for start in range(0, len(ids), SHOW_MANY_MAX):
        chunk = ids[start : start + SHOW_MANY_MAX]
        yield _page(_get(session, url, {"ids": ",".join(str(i) for i in chunk), "include": SIDELOADS}))
