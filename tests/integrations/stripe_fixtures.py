"""Stripe objects in the shapes of Stripe's API reference (Customer, Subscription with items.data[].price,
Discount with coupon), one customer per MRR rule of docs/integrations.md#mrr-rules, and signed webhook
deliveries. Each customer's expected ledger is computed by hand in LEDGERS, next to its fixture."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any

SECRET = "whsec_test_secret"


def ts(day: str) -> int:
    """Noon UTC of `day`: the same day in any TIME_ZONE the tests run with."""
    return int(dt.datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp())


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


def customer(cid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "customer",
        "name": name,
        "email": f"billing@{cid}.test",
        "metadata": {},
        "created": ts("2025-01-01"),
        **extra,
    }


def price(
    unit_amount: int | None = None,
    *,
    interval: str = "month",
    count: int = 1,
    currency: str = "usd",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": f"price_{interval}_{count}_{unit_amount}",
        "object": "price",
        "currency": currency,
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
        "billing_scheme": "per_unit",
        "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"},
        **extra,
    }


TIERS = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
    {"up_to": 10, "unit_amount": 800, "flat_amount": None},
    {"up_to": None, "unit_amount": 500, "flat_amount": 2000},
]


def subscription(
    sid: str,
    cus: str,
    items: list[tuple[dict, int]],
    *,
    status: str = "active",
    start: str = "2025-01-10",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": sid,
        "object": "subscription",
        "customer": cus,
        "status": status,
        "currency": items[0][0]["currency"],
        "created": ts(start),
        "start_date": ts(start),
        "trial_end": None,
        "ended_at": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "discount": None,
        "discounts": [],
        "items": {
            "object": "list",
            "has_more": False,
            "data": [
                {"id": f"si_{sid}_{n}", "object": "subscription_item", "price": p, "quantity": q}
                for n, (p, q) in enumerate(items)
            ],
        },
        **extra,
    }


def discount(
    did: str,
    *,
    percent_off: float | None = None,
    amount_off: int | None = None,
    duration: str,
    start: str,
    end: str | None = None,
) -> dict[str, Any]:
    return {
        "id": did,
        "object": "discount",
        "start": ts(start),
        "end": ts(end) if end else None,
        "coupon": {
            "id": f"co_{did}",
            "object": "coupon",
            "percent_off": percent_off,
            "amount_off": amount_off,
            "currency": "usd" if amount_off else None,
            "duration": duration,
        },
    }


def event(eid: str, kind: str, obj: dict[str, Any], created: str) -> dict[str, Any]:
    return {"id": eid, "object": "event", "type": kind, "created": ts(created), "data": {"object": obj}}


def signed(payload: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header as Stripe builds it: t=<time>,v1=HMAC-SHA256(secret, "<time>.<body>")."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


# --- The rules, one customer each ---------------------------------------------------------------------------

CUSTOMERS = [
    customer("cus_monthly", "Monthly Co"),
    customer("cus_yearly", "Yearly Co"),
    customer("cus_weekly", "Biweekly Co"),
    customer("cus_quarter", "Quarterly Co"),
    customer("cus_graduated", "Graduated Co"),
    customer("cus_volume", "Volume Co"),
    customer("cus_percent", "Percent Co"),
    customer("cus_amount", "Amount Off Co"),
    customer("cus_trial", "Trial Co"),
    customer("cus_cancel", "Cancel Co"),
    customer("cus_two", "Two Subs Co", metadata={"cshub_external_id": "TWO-1"}),
    customer("cus_eur", "Euro GmbH"),
]

PERCENT = discount("di_pct", percent_off=25, duration="forever", start="2025-01-10")
AMOUNT = discount("di_amt", amount_off=5000, duration="repeating", start="2025-01-10", end="2025-04-10")

# Subscriptions as created (the webhook's customer.subscription.created).
CREATED = [
    # $50 x 3 a month = $150.00
    subscription("sub_monthly", "cus_monthly", [(price(5000), 3)]),
    # $1,200 a year / 12 = $100.00
    subscription("sub_yearly", "cus_yearly", [(price(120000, interval="year"), 1)]),
    # $10 every 2 weeks: 1000 x 52 / 12 / 2 = 2166.67 cents = $21.67
    subscription("sub_weekly", "cus_weekly", [(price(1000, interval="week", count=2), 1)]),
    # $90 x 2 every 3 months / 3 = $60.00
    subscription("sub_quarter", "cus_quarter", [(price(9000, count=3), 2)]),
    # graduated, 12 units: 5 x $10 + 5 x $8 + 2 x $5 + $20 flat of the third tier = $120.00
    subscription(
        "sub_graduated",
        "cus_graduated",
        [(price(None, billing_scheme="tiered", tiers_mode="graduated", tiers=TIERS), 12)],
    ),
    # volume, 12 units: all in the third tier, 12 x $5 + $20 = $80.00
    subscription(
        "sub_volume",
        "cus_volume",
        [(price(None, billing_scheme="tiered", tiers_mode="volume", tiers=TIERS), 12)],
    ),
    # $200 a month less 25 % forever = $150.00
    subscription("sub_percent", "cus_percent", [(price(20000), 1)], discount=PERCENT),
    # $1,200 a year less $50 off each (yearly) invoice until 2025-04-10: (120000 - 5000) / 12 = 9583.33 cents
    # = $95.83, then $100.00
    subscription("sub_amount", "cus_amount", [(price(120000, interval="year"), 1)], discounts=[AMOUNT]),
    # trialing until 2025-02-10: $0 while it is a trial
    subscription("sub_trial", "cus_trial", [(price(4000), 1)], status="trialing", trial_end=ts("2025-02-10")),
    # $50 a month
    subscription("sub_cancel", "cus_cancel", [(price(5000), 1)]),
    # two subscriptions: $30 a month + $240 a year (= $20) = $50.00
    subscription("sub_two_a", "cus_two", [(price(3000), 1)]),
    subscription("sub_two_b", "cus_two", [(price(24000, interval="year"), 1)], start="2025-02-01"),
    # another currency: an error on the Integrations page, not in the ledger
    subscription("sub_eur", "cus_eur", [(price(9900, currency="eur"), 1)]),
]
BY_ID = {s["id"]: s for s in CREATED}

# Later changes (customer.subscription.updated).
TRIAL_CONVERTED = {**BY_ID["sub_trial"], "status": "active"}  # the trial ended and the first invoice was paid
CANCEL_REQUESTED = {  # asked on 2025-03-01 to cancel at the end of the period, 2025-05-10
    **BY_ID["sub_cancel"],
    "cancel_at_period_end": True,
    "cancel_at": ts("2025-05-10"),
    "canceled_at": ts("2025-03-01"),
}
CANCELED = {**CANCEL_REQUESTED, "status": "canceled", "ended_at": ts("2025-05-10")}

EVENTS = [
    *[event(f"evt_cus_{n}", "customer.created", c, "2025-01-01") for n, c in enumerate(CUSTOMERS)],
    *[event(f"evt_sub_{n}", "customer.subscription.created", s, "2025-01-10") for n, s in enumerate(CREATED)],
    event("evt_trial_end", "customer.subscription.updated", TRIAL_CONVERTED, "2025-02-10"),
    event("evt_cancel_req", "customer.subscription.updated", CANCEL_REQUESTED, "2025-03-01"),
    event("evt_canceled", "customer.subscription.deleted", CANCELED, "2025-05-10"),
]

# The final state, as the API lists it (for sync_stripe).
FINAL = [
    *[BY_ID[s["id"]] for s in CREATED if s["id"] not in ("sub_trial", "sub_cancel")],
    TRIAL_CONVERTED,
    CANCELED,
]

# The ledger each customer must have: (effective_date, mrr), by hand from the comments above.
M = Decimal
LEDGERS = {
    "cus_monthly": [(d("2025-01-10"), M("150.00"))],
    "cus_yearly": [(d("2025-01-10"), M("100.00"))],
    "cus_weekly": [(d("2025-01-10"), M("21.67"))],
    "cus_quarter": [(d("2025-01-10"), M("60.00"))],
    "cus_graduated": [(d("2025-01-10"), M("120.00"))],
    "cus_volume": [(d("2025-01-10"), M("80.00"))],
    "cus_percent": [(d("2025-01-10"), M("150.00"))],
    "cus_amount": [(d("2025-01-10"), M("95.83")), (d("2025-04-10"), M("100.00"))],
    "cus_trial": [(d("2025-02-10"), M("40.00"))],  # nothing while a trial (no row of 0 at its start)
    # 0 at the end of the period, not on the day of the request (2025-03-01)
    "cus_cancel": [(d("2025-01-10"), M("50.00")), (d("2025-05-10"), M("0.00"))],
    "TWO-1": [(d("2025-01-10"), M("30.00")), (d("2025-02-01"), M("50.00"))],
}
