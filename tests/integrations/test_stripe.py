"""Stripe (docs/integrations.md#stripe): the webhook's signature check, the MRR rules against hand-computed
ledgers, replays, and the revenue metrics over those customers."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Customer
from integrations import activity
from integrations.models import StripeEvent
from integrations.stripe_billing.mrr import mrr_on, tiered_amount
from metrics.models import MrrEntry
from metrics.revenue.definitions import revenue_metrics
from metrics.scope import Scope

from . import stripe_fixtures as fx

pytestmark = pytest.mark.django_db

URL = "/integrations/stripe/webhook/"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = fx.SECRET
    settings.CSHUB_CURRENCY = "usd"


def deliver(event: dict, *, signature: str | None = None, body: bytes | None = None):
    payload = body if body is not None else json.dumps(event).encode()
    header = signature if signature is not None else fx.signed(payload)
    return Client().post(URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def ledger() -> dict[str, list[tuple[dt.date, Decimal]]]:
    out: dict[str, list] = {}
    for external_id, day, mrr in MrrEntry.objects.order_by(
        "customer__external_id", "effective_date"
    ).values_list("customer__external_id", "effective_date", "mrr"):
        out.setdefault(external_id, []).append((day, mrr))
    return out


def deliver_all(events=fx.EVENTS) -> None:
    for e in events:
        response = deliver(e)
        assert response.status_code == 200, response.content


def test_every_rule_yields_the_hand_computed_ledger():
    deliver_all()
    assert ledger() == fx.LEDGERS
    assert Customer.objects.get(external_id="TWO-1").name == "Two Subs Co"  # metadata.cshub_external_id
    assert Customer.objects.get(external_id="cus_monthly").name == "Monthly Co"


def test_another_currency_is_a_connector_error_not_revenue():
    deliver_all()
    assert not MrrEntry.objects.filter(customer__external_id="cus_eur").exists()
    errors = activity.last_errors("stripe")
    assert len(errors) == 1
    assert "eur" in errors[0].error
    assert "CSHUB_CURRENCY" in errors[0].error
    assert errors[0].payload["id"] == "sub_eur"


def test_replaying_the_same_webhooks_changes_nothing():
    deliver_all()
    before = list(
        MrrEntry.objects.order_by("pk").values_list(
            "pk", "customer_id", "effective_date", "mrr", "updated_at"
        )
    )
    for e in fx.EVENTS:
        response = deliver(e)
        assert response.json() == {"received": True, "duplicate": True}
    # The same content under new event ids (a resend): the rules give the same rows, unchanged.
    deliver_all([{**e, "id": e["id"] + "_again"} for e in fx.EVENTS])
    after = list(
        MrrEntry.objects.order_by("pk").values_list(
            "pk", "customer_id", "effective_date", "mrr", "updated_at"
        )
    )
    assert after == before


def test_events_in_any_order_give_the_same_ledger():
    deliver_all(list(reversed(fx.EVENTS)))
    got = ledger()
    # Each subscription's first sight holds from its start; later events are dated at their time: the same.
    assert got == fx.LEDGERS


def test_undoing_a_scheduled_cancellation_removes_the_zero():
    deliver_all(fx.EVENTS[:-1])  # the cancellation was requested, and not yet done
    assert ledger()["cus_cancel"] == fx.LEDGERS["cus_cancel"]
    undone = {**fx.CANCEL_REQUESTED, "cancel_at_period_end": False, "cancel_at": None, "canceled_at": None}
    deliver(fx.event("evt_undo", "customer.subscription.updated", undone, "2025-04-01"))
    assert ledger()["cus_cancel"] == [
        (fx.d("2025-01-10"), Decimal("50.00")),
        (fx.d("2025-05-10"), Decimal("50.00")),
    ]


def test_revenue_metrics_over_these_customers_equal_the_hand_computation():
    deliver_all()
    m = revenue_metrics(scope=Scope(), start=fx.d("2025-04-01"), end=fx.d("2025-05-31"))
    # Opening (2025-03-31): 150 + 100 + 21.67 + 60 + 120 + 80 + 150 + 95.83 + 40 + 50 + 50 = 917.50
    # Closing: the amount-off discount ended (+4.17), the cancellation took effect (-50) = 871.67
    assert m.mrr_start == Decimal("917.50")
    assert m.mrr_end == Decimal("871.67")
    assert m.expansion_mrr == Decimal("4.17")
    assert m.churned_mrr == Decimal("50.00")
    assert (m.new_mrr, m.contraction_mrr) == (0, 0)
    assert (m.customers_start, m.customers_end, m.churned_customers) == (11, 10, 1)
    assert m.grr == pytest.approx(Decimal("867.50") / Decimal("917.50"), abs=Decimal("0.0001"))


@pytest.mark.parametrize(
    ("why", "make"),
    [
        ("no signature", lambda body: ""),
        ("wrong secret", lambda body: fx.signed(body, secret="whsec_other")),
        ("stale timestamp (a replay)", lambda body: fx.signed(body, at=int(time.time()) - 3600)),
        ("tampered body", lambda body: fx.signed(body.replace(b"Monthly", b"Mallory"))),
        ("garbage header", lambda body: "t=abc,v1=zzz"),
    ],
)
def test_unsigned_badly_signed_or_replayed_deliveries_are_refused(why, make):
    body = json.dumps(fx.EVENTS[0]).encode()
    response = deliver(fx.EVENTS[0], body=body, signature=make(body))
    assert response.status_code == 400, why
    assert not Customer.objects.exists()
    assert not StripeEvent.objects.exists()
    assert activity.summary("stripe")["errors_24h"] == 1


def test_a_signed_body_that_is_not_an_event_is_400():
    for body in (b"not json", b"[1, 2]", b'{"type": "customer.created"}'):
        response = deliver({}, body=body)
        assert response.status_code == 400


def test_without_a_secret_the_webhook_is_unavailable(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert deliver(fx.EVENTS[0]).status_code == 503


def test_an_invalid_customer_is_400_and_writes_nothing():
    bad = fx.customer("cus_bad", "Bad", metadata={"cshub_external_id": "has spaces/slash"})
    response = deliver(fx.event("evt_bad", "customer.created", bad, "2025-01-01"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "external_id"
    assert not Customer.objects.exists()
    assert not StripeEvent.objects.exists()  # Stripe's retry, once fixed, is applied


def test_a_subscription_before_its_customer_creates_the_customer():
    deliver(fx.event("evt_s", "customer.subscription.created", fx.BY_ID["sub_monthly"], "2025-01-10"))
    assert ledger() == {"cus_monthly": fx.LEDGERS["cus_monthly"]}
    deliver(fx.event("evt_c", "customer.created", fx.CUSTOMERS[0], "2025-01-10"))
    assert Customer.objects.get(external_id="cus_monthly").name == "Monthly Co"


def test_other_event_types_are_acknowledged():
    response = deliver(fx.event("evt_inv", "invoice.paid", {"id": "in_1", "object": "invoice"}, "2025-01-10"))
    assert response.status_code == 200
    assert activity.summary("stripe")["items_24h"] == 1


# --- The rules as functions (edges the fixtures don't reach) ------------------------------------------------


def test_tier_edges():
    assert tiered_amount(fx.TIERS, "graduated", 5) == 5000
    assert tiered_amount(fx.TIERS, "graduated", 6) == 5800
    assert tiered_amount(fx.TIERS, "volume", 5) == 5000
    assert tiered_amount(fx.TIERS, "volume", 6) == 4800
    assert tiered_amount(fx.TIERS, "volume", 0) == 0


def test_metered_items_and_once_coupons_do_not_count():
    metered = fx.price(100)
    metered["recurring"]["usage_type"] = "metered"
    sub = fx.subscription("s", "c", [(fx.price(1000), 1), (metered, 500)])
    sub["discounts"] = [fx.discount("once", percent_off=50, duration="once", start="2025-01-10")]
    assert mrr_on(sub, fx.d("2025-03-01")) == 1000


def test_an_amount_off_larger_than_the_price_floors_at_zero():
    sub = fx.subscription("s", "c", [(fx.price(1000), 1)])
    sub["discount"] = fx.discount("big", amount_off=5000, duration="forever", start="2025-01-10")
    sub["discount"]["coupon"]["currency"] = "usd"
    assert mrr_on(copy.deepcopy(sub), fx.d("2025-03-01")) == 0


@pytest.mark.parametrize("who", ["csm_client", "admin_client"])
def test_a_signed_in_session_does_not_replace_the_signature(request, who):
    client = request.getfixturevalue(who)
    body = json.dumps(fx.EVENTS[0])
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert not Customer.objects.filter(external_id="cus_monthly").exists()


def test_a_subscription_not_in_stripes_shape_is_recorded_not_a_500():
    odd = copy.deepcopy(fx.BY_ID["sub_monthly"])
    odd["items"]["data"][0]["price"]["recurring"]["interval"] = "decade"
    odd["start_date"] = "yesterday"
    weird_customer = {**fx.CUSTOMERS[1], "name": 12345, "metadata": ["not", "a", "dict"]}
    assert deliver(fx.event("evt_odd", "customer.subscription.created", odd, "2025-01-10")).status_code == 200
    assert deliver(fx.event("evt_weird", "customer.created", weird_customer, "2025-01-10")).status_code == 200
    assert not MrrEntry.objects.exists()
    assert Customer.objects.get(external_id="cus_yearly").name == "12345"
    [error] = activity.last_errors("stripe")
    assert "not in Stripe's shape" in error.error


def test_the_status_never_shows_a_secret_in_full(settings):
    from integrations.stripe_billing.status import stripe_status

    settings.STRIPE_API_KEY = "rk_live_0123456789abcdef"
    status = stripe_status()
    assert status["webhook_configured"] is True
    assert status["api_key_configured"] is True
    assert fx.SECRET not in str(status)
    assert settings.STRIPE_API_KEY not in str(status)
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert stripe_status()["webhook_configured"] is False


@pytest.mark.parametrize("subscriptions", [1, 8])
def test_a_webhooks_queries_do_not_grow_with_the_customers_subscriptions(
    subscriptions, django_assert_max_num_queries
):
    for n in range(subscriptions):
        sub = fx.subscription(f"sub_q{n}", "cus_q", [(fx.price(1000 + n), 1)])
        deliver(fx.event(f"evt_q{n}", "customer.subscription.created", sub, "2025-01-10"))
    upgraded = fx.subscription("sub_q0", "cus_q", [(fx.price(5000), 2)])
    with django_assert_max_num_queries(25):  # SQLite 23, PostgreSQL 25 (lock timeout, advisory lock)
        response = deliver(fx.event("evt_up", "customer.subscription.updated", upgraded, "2025-03-01"))
    assert response.status_code == 200
    assert ledger()["cus_q"][-1][0] == fx.d("2025-03-01")
