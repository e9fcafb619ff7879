"""`manage.py sync_stripe` (docs/integrations.md#the-backfill): the stripe library's auto-paging against a
local fake of Stripe's list endpoints (bench/fake_stripe.py, shared with bench/bench_stripe.py)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Customer
from bench.fake_stripe import FakeStripe
from integrations import activity
from integrations.models import StripeSubscriptionVersion
from metrics.models import MrrEntry

from . import stripe_fixtures as fx
from .test_stripe import deliver_all, ledger

pytestmark = pytest.mark.django_db
KEY = "rk_test_sync"


@pytest.fixture
def fake(settings):
    with FakeStripe(customers=fx.CUSTOMERS, subscriptions=fx.FINAL, api_key=KEY, page_cap=5) as server:
        settings.STRIPE_API_KEY = KEY
        settings.STRIPE_API_BASE = server.url
        settings.CSHUB_CURRENCY = "usd"
        yield server


def sync(*args: str) -> str:
    out = io.StringIO()
    call_command("sync_stripe", *args, stdout=out)
    return out.getvalue()


def test_backfill_gives_the_hand_computed_ledger_through_every_page(fake):
    sync()
    assert ledger() == fx.LEDGERS
    pages = [params for path, params in fake.requests if path == "/v1/subscriptions"]
    assert len(pages) == 3  # 13 subscriptions, 5 a page: auto-paging followed has_more / starting_after
    served = [s["id"] for s in fake.lists["/v1/subscriptions"]]
    assert [p.get("starting_after") for p in pages] == [None, [served[4]], [served[9]]]
    assert pages[0]["status"] == ["all"]
    assert [e.payload["id"] for e in activity.last_errors("stripe")] == ["sub_eur"]


def test_a_second_run_writes_nothing(fake):
    sync()
    rows = list(MrrEntry.objects.order_by("pk").values_list("pk", "mrr", "updated_at"))
    versions = StripeSubscriptionVersion.objects.count()
    out = sync()
    assert "0 customers and 0 subscription versions written, 0 ledger rows written" in out
    assert list(MrrEntry.objects.order_by("pk").values_list("pk", "mrr", "updated_at")) == rows
    assert StripeSubscriptionVersion.objects.count() == versions


def test_the_backfill_after_the_webhooks_changes_nothing(fake, settings):
    settings.STRIPE_WEBHOOK_SECRET = fx.SECRET
    deliver_all()
    rows = list(MrrEntry.objects.order_by("pk").values_list("pk", "mrr", "updated_at"))
    out = sync()
    assert "0 subscription versions written, 0 ledger rows written" in out
    assert list(MrrEntry.objects.order_by("pk").values_list("pk", "mrr", "updated_at")) == rows


def test_since_asks_stripe_for_objects_created_from_that_day(fake):
    sync("--since", "2025-02-01")
    params = [p for path, p in fake.requests if path == "/v1/subscriptions"]
    assert params[0]["created[gte]"] == [str(fx.ts("2025-02-01") - 12 * 3600)]
    assert set(StripeSubscriptionVersion.objects.values_list("subscription_id", flat=True)) == {"sub_two_b"}
    assert not Customer.objects.filter(external_id="cus_monthly").exists()


def test_without_a_key_the_command_says_so(settings):
    settings.STRIPE_API_KEY = ""
    with pytest.raises(CommandError, match="STRIPE_API_KEY"):
        sync()


def test_a_bad_customer_is_recorded_and_skipped_the_rest_is_written(settings):
    bad = fx.customer("cus_bad", "Bad", metadata={"cshub_external_id": "no spaces allowed"})
    good = fx.CUSTOMERS[0]
    with FakeStripe(customers=[bad, good], subscriptions=[], api_key=KEY) as server:
        settings.STRIPE_API_KEY = KEY
        settings.STRIPE_API_BASE = server.url
        sync()
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["cus_monthly"]
    [error] = activity.last_errors("stripe")
    assert "cus_bad" in error.error
    assert "external_id" in error.error


def test_a_key_stripe_refuses_is_a_command_error_and_writes_nothing(fake, settings):
    settings.STRIPE_API_KEY = "rk_wrong"
    with pytest.raises(CommandError, match="Invalid API Key"):
        sync()
    assert not Customer.objects.exists()
