"""Reads for the Integrations page (docs/integrations.md#the-integrations-page): each connector's
configuration state, what to copy into the other system (secrets never in full), and its activity
(integrations.activity)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Team, User
from accounts.visibility import can_manage_integrations

from . import activity
from .models import ConnectorActivity, SlackChannel, WebhookDelivery, WebhookEndpoint
from .segment.keys import segment_status
from .segment.services import segment_pending_summary
from .slack.services import masked
from .stripe_billing.status import stripe_status

DELIVERIES_PER_PAGE = 50


@dataclass
class Connector:
    key: str
    name: str
    direction: str  # "in" or "out"
    summary: str  # one line: what it does
    configured: bool | None  # None: this page does not know (set up where the docs say)
    state: str
    copy: list[tuple[str, str]] = field(default_factory=list)  # (label, value to copy)
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (label, masked value)
    activity: dict[str, Any] = field(default_factory=dict)
    errors: list[ConnectorActivity] = field(default_factory=list)
    manage_url: str = ""


def check_can_manage(user: User) -> None:
    if not can_manage_integrations(user):
        raise PermissionDenied("Only admins may see and manage integrations.")


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _tail(secret: str) -> str:
    return f"…{secret[-4:]}" if secret else ""


def _waiting_text(waiting: dict[str, Any]) -> str:
    """The tracking API's calls kept for customers not known yet, as a sentence (empty when none)."""
    count = waiting["count"]
    if not count:
        return ""
    kept = f"kept {waiting['days']} days" if waiting["days"] > 0 else "kept until their customer appears"
    calls = f"{count:,} call{'s wait' if count != 1 else ' waits'}"
    oldest = timezone.localtime(waiting["oldest"])
    return f" {calls} for a customer not known yet (the oldest from {oldest:%Y-%m-%d}; {kept})."


def integrations_overview(*, user: User) -> list[Connector]:
    """Every connector with its state and activity: a constant number of queries (3 per connector, 5 more)."""
    check_can_manage(user)
    endpoints = list(WebhookEndpoint.objects.order_by("pk"))
    channels = list(SlackChannel.objects.select_related("team"))
    active = [e for e in endpoints if e.is_active]
    zendesk_configured = bool(settings.ZENDESK_WEBHOOK_SECRET)
    segment, stripe = segment_status(), stripe_status()
    waiting = segment_pending_summary()
    zendesk_api = bool((settings.ZENDESK_URL or settings.ZENDESK_SUBDOMAIN) and settings.ZENDESK_API_TOKEN)
    connectors = [
        Connector(
            "segment",
            "Segment-spec tracking API",
            "in",
            "Product usage, contacts and customers from Segment or RudderStack clients.",
            bool(segment["configured"]),
            (
                "Write key created: clients send to the endpoint below with it."
                if segment["configured"]
                else "No write key yet: create one with manage.py segment_write_key."
            )
            + _waiting_text(waiting),
            copy=[("Endpoint", _absolute("/v1/batch"))],
            secrets=[("Write key", f"{segment['write_key_hint']}…")] if segment["configured"] else [],
        ),
        Connector(
            "stripe",
            "Stripe",
            "in",
            f"Subscriptions become the MRR ledger (in {str(stripe['currency']).upper()}).",
            bool(stripe["webhook_configured"]),
            (
                "Webhook signing secret set"
                if stripe["webhook_configured"]
                else "No signing secret (STRIPE_WEBHOOK_SECRET): webhook calls are refused"
            )
            + (
                "; API key set for sync_stripe."
                if stripe["api_key_configured"]
                else "; no API key for sync_stripe."
            ),
            copy=[("Webhook endpoint", _absolute(str(stripe["webhook_path"])))],
            secrets=[
                (label, str(stripe[hint]))
                for label, hint, on in (
                    ("Signing secret", "webhook_secret_hint", "webhook_configured"),
                    ("API key", "api_key_hint", "api_key_configured"),
                )
                if stripe[on]
            ],
        ),
        Connector(
            "zendesk",
            "Zendesk",
            "in",
            "Support tickets, matched to customers by the organisation's external id.",
            zendesk_configured,
            (
                "Webhook signing secret set"
                if zendesk_configured
                else "No signing secret: webhook calls are refused"
            )
            + ("; API token set for sync_zendesk." if zendesk_api else "; no API token for sync_zendesk."),
            copy=[("Webhook endpoint", _absolute("/integrations/zendesk/webhook/"))],
            secrets=[("Signing secret", _tail(settings.ZENDESK_WEBHOOK_SECRET))]
            if zendesk_configured
            else [],
        ),
        Connector(
            "slack",
            "Slack",
            "out",
            "New playbook runs, red transitions and NPS detractors, posted to each team's channel.",
            bool(channels),
            f"{len(channels)} incoming webhook{'s' if len(channels) != 1 else ''} set"
            + (" (with a default)." if any(c.team_id is None for c in channels) else " (no default)."),
            secrets=[
                (c.team.name if c.team else "Default", masked(c.webhook_url))
                for c in sorted(channels, key=lambda c: (c.team is not None, c.team.name if c.team else ""))
            ],
            manage_url="integrations_slack",
        ),
        Connector(
            "webhooks",
            "Outbound webhooks",
            "out",
            "Signed event deliveries (Standard Webhooks) to your own endpoints.",
            bool(active),
            f"{len(active)} active endpoint{'s' if len(active) != 1 else ''} of {len(endpoints)}.",
            copy=[(e.description or "Endpoint", e.url) for e in endpoints],
            manage_url="integrations_webhooks",
        ),
    ]
    for connector in connectors:
        connector.activity = activity.summary(connector.key)
        connector.errors = activity.last_errors(connector.key)
        for error in connector.errors:
            error.payload_json = "" if error.payload is None else json.dumps(error.payload, indent=2)
    return connectors


def slack_teams(*, user: User) -> tuple[SlackChannel | None, list[tuple[Team, SlackChannel | None]]]:
    """The default channel and each team with its channel (two queries)."""
    check_can_manage(user)
    channels = {c.team_id: c for c in SlackChannel.objects.all()}
    return channels.get(None), [(team, channels.get(team.pk)) for team in Team.objects.order_by("name")]


def webhook_endpoints(*, user: User) -> list[WebhookEndpoint]:
    """Endpoints with their delivery counts by state (one query)."""
    check_can_manage(user)
    return list(
        WebhookEndpoint.objects.annotate(
            n_delivered=Count("deliveries", filter=Q(deliveries__state="delivered")),
            n_pending=Count("deliveries", filter=Q(deliveries__state="pending")),
            n_failed=Count("deliveries", filter=Q(deliveries__state="failed")),
        ).order_by("pk")
    )


def webhook_endpoint_for_user(*, user: User, pk: int) -> WebhookEndpoint:
    check_can_manage(user)
    return get_object_or_404(WebhookEndpoint, pk=pk)


def webhook_deliveries(*, endpoint: WebhookEndpoint, page: int | str = 1, state: str = "") -> Page:
    """The delivery log of an endpoint, newest first, a page at a time."""
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).defer("payload").order_by("-pk")
    if state:
        rows = rows.filter(state=state)
    return Paginator(rows, DELIVERIES_PER_PAGE).get_page(page)
