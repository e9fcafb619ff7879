"""The Integrations page, outbound webhook screens and Slack settings
(docs/integrations.md#the-integrations-page): admins only, secrets never shown back in full, bad input answers
400, bounded queries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import activity
from integrations.models import DeliveryState, SlackChannel, WebhookDelivery, WebhookEndpoint
from integrations.segment.keys import write_key_get_or_create
from integrations.slack.services import slack_channel_set
from integrations.webhooks.services import webhook_endpoint_create
from tests.factories import TeamFactory

SLACK_URL = "https://hooks.slack.com/services/T000/B000/VerySecretTokenXYZ123"


def pages(endpoint_pk: int = 1, delivery_pk: int = 1):
    return [
        ("get", reverse("integrations")),
        ("get", reverse("integrations_slack")),
        ("post", reverse("integrations_slack")),
        ("get", reverse("integrations_webhooks")),
        ("post", reverse("integrations_webhooks")),
        ("get", reverse("integrations_webhook", args=[endpoint_pk])),
        ("post", reverse("integrations_webhook", args=[endpoint_pk])),
        ("post", reverse("integrations_webhook_delete", args=[endpoint_pk])),
        ("post", reverse("integrations_webhook_rotate", args=[endpoint_pk])),
        ("post", reverse("integrations_delivery_resend", args=[delivery_pk])),
    ]


@pytest.mark.parametrize("persona", ["csm_client", "manager_client"])
def test_csms_and_managers_get_403_everywhere(request, persona, admin_user):
    client = request.getfixturevalue(persona)
    endpoint = webhook_endpoint_create(
        user=admin_user, url="https://example.com/h", events=["task.completed"]
    )
    for method, url in pages(endpoint.pk):
        response = getattr(client, method)(
            url, {"url": "https://evil.example/x", "events": ["task.completed"]}
        )
        assert response.status_code == 403, (method, url)
    assert WebhookEndpoint.objects.get().url == "https://example.com/h"
    assert not SlackChannel.objects.exists()


def test_anonymous_is_sent_to_login(anonymous):
    response = anonymous.get(reverse("integrations"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_nav_shows_integrations_to_admins_only(admin_client, manager_client):
    assert 'href="/integrations/"' in admin_client.get(reverse("home")).content.decode()
    assert 'href="/integrations/"' not in manager_client.get(reverse("home")).content.decode()


def test_the_page_shows_every_connector_its_urls_counts_and_errors_without_secrets(
    admin_client, admin_user, settings
):
    settings.ZENDESK_WEBHOOK_SECRET = "zendesk-signing-secret-ABCD"
    slack_channel_set(user=admin_user, team=None, webhook_url=SLACK_URL)
    webhook_endpoint_create(user=admin_user, url="https://example.com/hooks/cs", events=["task.completed"])
    activity.record_received("segment", kind="batch", items=500)
    activity.record_error(
        "stripe", "Currency EUR is not the reporting currency", kind="invoice.paid", payload={"id": "evt_1"}
    )
    response = admin_client.get(reverse("integrations"))
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("segment", "stripe", "zendesk", "slack", "webhooks"):
        assert f'data-testid="connector-{key}"' in html
    assert f"{settings.SITE_URL}/v1/batch" in html
    assert f"{settings.SITE_URL}/integrations/stripe/webhook/" in html
    assert f"{settings.SITE_URL}/integrations/zendesk/webhook/" in html
    assert "500 events, no errors" in html
    assert "Currency EUR is not the reporting currency" in html
    assert "evt_1" in html
    assert "https://example.com/hooks/cs" in html
    assert "VerySecretToken" not in html
    assert "…XYZ123" in html
    assert "zendesk-signing-secret" not in html
    assert "…ABCD" in html
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret not in html


def test_the_page_query_count_does_not_grow_with_activity(
    admin_client, admin_user, django_assert_max_num_queries
):
    def load():
        with django_assert_max_num_queries(24):
            assert admin_client.get(reverse("integrations")).status_code == 200

    load()
    for i in range(60):
        activity.record_error("zendesk", f"bad {i}", payload={"n": i})
        activity.record_received("slack", kind="playbook_run.started")
    slack_channel_set(user=admin_user, team=None, webhook_url=SLACK_URL)
    for i in range(5):
        webhook_endpoint_create(user=admin_user, url=f"https://example.com/{i}", events=["task.completed"])
    load()
    html = admin_client.get(reverse("integrations")).content.decode()
    assert "Last 50 errors" in html
    assert "bad 59" in html
    assert "bad 9<" not in html  # the 51st newest and older are not shown


def test_adding_an_endpoint_shows_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("integrations_webhooks"),
        {
            "url": "https://example.com/receive",
            "description": "CRM",
            "events": ["task.completed", "customer.churned"],
        },
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["task.completed", "customer.churned"]
    assert endpoint.secret in response.content.decode()
    detail = admin_client.get(reverse("integrations_webhook", args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in detail
    assert f"…{endpoint.secret[-4:]}" in detail

    rotated = admin_client.post(reverse("integrations_webhook_rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret in rotated.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "not a url", "events": ["task.completed"]}, "url"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": ["customer.exploded"]}, "events"),
        ({"url": "https://example.com/" + "x" * 600, "events": ["task.completed"]}, "url"),
    ],
)
def test_bad_endpoint_input_is_a_400_naming_the_field(admin_client, data, field):
    response = admin_client.post(reverse("integrations_webhooks"), data)
    assert response.status_code == 400
    assert f'id="field-id_{field}"' in response.content.decode()
    assert "field__error" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_editing_pausing_and_removing_an_endpoint(admin_client, admin_user):
    endpoint = webhook_endpoint_create(
        user=admin_user, url="https://example.com/a", events=["task.completed"]
    )
    response = admin_client.post(
        reverse("integrations_webhook", args=[endpoint.pk]),
        {"url": "https://example.com/b", "events": ["survey.answered"], "description": ""},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.is_active) == (
        "https://example.com/b",
        ["survey.answered"],
        False,
    )
    assert admin_client.post(reverse("integrations_webhook_delete", args=[endpoint.pk])).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_lists_status_codes_and_resend_requeues(
    admin_client, admin_user, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    endpoint = webhook_endpoint_create(
        user=admin_user, url="http://127.0.0.1:9/closed", events=["task.completed"]
    )

    def delivery(n: int, state: str, status: int | None) -> WebhookDelivery:
        now = timezone.now()
        return WebhookDelivery.objects.create(
            endpoint=endpoint,
            event="task.completed",
            msg_id=f"msg_{n}",
            payload={"n": n},
            state=state,
            last_status=status,
            attempts=1,
            retry_until=now,
            next_attempt_at=now,
        )

    url = reverse("integrations_webhook", args=[endpoint.pk])
    failed = delivery(0, DeliveryState.FAILED, 503)
    with django_assert_max_num_queries(12):
        assert admin_client.get(url).status_code == 200
    for n in range(1, 80):
        delivery(n, DeliveryState.DELIVERED, 200)
    with django_assert_max_num_queries(12):
        html = admin_client.get(url, {"state": "failed"}).content.decode()
    assert "msg_0" in html
    assert ">503<" in html
    assert "msg_5" not in html
    assert "Showing 1\N{EN DASH}50 of 80" in admin_client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("integrations_delivery_resend", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.attempts == 2  # tried again at once (the receiver is down: pending, with 24 h ahead)
    assert failed.state == DeliveryState.PENDING


def test_slack_settings_save_mask_and_remove(admin_client):
    team = TeamFactory(name="Team East")
    response = admin_client.post(reverse("integrations_slack"), {"default": SLACK_URL, f"team_{team.pk}": ""})
    assert response.status_code == 302
    assert SlackChannel.objects.get().webhook_url == SLACK_URL
    html = admin_client.get(reverse("integrations_slack")).content.decode()
    assert "VerySecretToken" not in html
    assert "…XYZ123" in html
    response = admin_client.post(reverse("integrations_slack"), {"default": "", "remove_default": "on"})
    assert response.status_code == 302
    assert not SlackChannel.objects.exists()
    response = admin_client.post(reverse("integrations_slack"), {"default": "javascript:alert(1)"})
    assert response.status_code == 400
    assert not SlackChannel.objects.exists()


def test_the_endpoint_list_query_count_does_not_grow(admin_client, admin_user, django_assert_max_num_queries):
    def load() -> str:
        with django_assert_max_num_queries(8):
            response = admin_client.get(reverse("integrations_webhooks"))
        assert response.status_code == 200
        return response.content.decode()

    load()
    for i in range(12):
        endpoint = webhook_endpoint_create(
            user=admin_user, url=f"https://example.com/{i}", events=["task.completed"]
        )
        now = timezone.now()
        for n, state in enumerate(("delivered", "delivered", "failed")):
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                event="task.completed",
                msg_id=f"msg_{i}_{n}",
                payload={},
                state=state,
                retry_until=now,
                next_attempt_at=now,
            )
    html = load()
    assert html.count('<span class="badge badge--red">1</span>') == 12


def test_segment_and_stripe_show_their_state_with_secrets_masked(admin_client, settings):
    html = admin_client.get(reverse("integrations")).content.decode()
    assert "No write key yet" in html
    assert "No signing secret (STRIPE_WEBHOOK_SECRET)" in html

    key = write_key_get_or_create()
    settings.STRIPE_WEBHOOK_SECRET = "whsec_0123456789abcdefSECRET"
    settings.STRIPE_API_KEY = "rk_live_0123456789abcdefSECRET"
    html = admin_client.get(reverse("integrations")).content.decode()
    assert "Write key created" in html
    assert f"{key[:6]}…" in html
    assert key not in html
    assert "Webhook signing secret set; API key set for sync_stripe." in html
    assert "whsec_01…" in html
    assert "SECRET" not in html
