"""A Stripe subscription's MRR over time (docs/integrations.md#mrr-rules). Pure functions over the JSON of
Stripe's Subscription object (API versions with `price` or the older `plan` on items, `discount` or
`discounts`); amounts in cents as Decimal, exact until the customer's total is rounded to the cent.

- An item's amount per billing interval: price x quantity, or its tiers (graduated: each tier
  prices the units that fall in it, plus its flat amount; volume: the tier the whole quantity falls in
  prices every unit).
  `transform_quantity` is applied first. Metered items have no known quantity: they count 0.
- Normalised to a month: a year ÷ 12, a week x 52 ÷ 12, a day x 365 ÷ 12, then ÷ interval_count.
- Discounts while they apply (from the discount's `start` to its `end`, none for `forever`): percent off the
  items' total, amount off per invoice normalised like the price; several discounts add up; never below 0.
  A `once` coupon is a one-off, not recurring revenue: it does not lower MRR.
- 0 before `start_date`, while `trialing` (a trial counts from when it converts: from `trial_end` once the
  subscription is active), from `ended_at` once canceled, from `cancel_at` when cancellation is scheduled
  (the end of the period, not the day it was asked for), and while incomplete, unpaid or paused.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

MONTHS_PER_INTERVAL = {
    "month": Decimal(1),
    "year": Decimal(12),
    "week": Decimal(12) / Decimal(52),
    "day": Decimal(12) / Decimal(365),
}
# Statuses whose subscription is not paying (yet or any more) from the version's date on.
NOT_PAYING = {"incomplete", "incomplete_expired", "unpaid", "paused", "canceled"}


class CurrencyMismatch(ValueError):
    """A price or coupon in another currency than the reporting one."""


def day_of(timestamp: int | None) -> dt.date | None:
    """A Stripe timestamp (Unix seconds) as a day in TIME_ZONE."""
    if timestamp is None:
        return None
    return _day_in(int(timestamp), timezone.get_current_timezone())


@functools.lru_cache(maxsize=65536)
def _day_in(timestamp: int, tz: dt.tzinfo) -> dt.date:
    # Cached: the rules ask for the same few timestamps many times over (a backfill: ~10 per subscription).
    return dt.datetime.fromtimestamp(timestamp, tz=tz).date()


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _unit(obj: dict[str, Any], name: str) -> Decimal:
    """`unit_amount`/`flat_amount`/`amount` in cents, preferring the `_decimal` text (sub-cent prices)."""
    decimal = obj.get(f"{name}_decimal")
    return Decimal(str(decimal)) if decimal not in (None, "") else _dec(obj.get(name))


def _price(item: dict[str, Any]) -> dict[str, Any]:
    return item.get("price") or item.get("plan") or {}


def _interval(price: dict[str, Any]) -> tuple[str, int]:
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or price.get("interval") or "month"
    count = recurring.get("interval_count") or price.get("interval_count") or 1
    return interval, int(count)


def months_per_interval(price: dict[str, Any]) -> Decimal:
    interval, count = _interval(price)
    if interval not in MONTHS_PER_INTERVAL or count < 1:
        raise ValueError(f"billing interval {count} x {interval!r}")
    return MONTHS_PER_INTERVAL[interval] * count


def _quantity(item: dict[str, Any], price: dict[str, Any]) -> int:
    quantity = int(item.get("quantity") or 0)
    transform = price.get("transform_quantity")
    if transform and transform.get("divide_by"):
        exact = quantity / int(transform["divide_by"])
        quantity = math.ceil(exact) if transform.get("round") == "up" else math.floor(exact)
    return quantity


def tiered_amount(tiers: Sequence[dict[str, Any]], mode: str, quantity: int) -> Decimal:
    """Cents for `quantity` units priced by `tiers` (each up to `up_to` units, null = no limit)."""
    if quantity <= 0:
        return Decimal(0)
    if mode == "volume":
        for tier in tiers:
            if tier.get("up_to") is None or quantity <= int(tier["up_to"]):
                return _unit(tier, "unit_amount") * quantity + _unit(tier, "flat_amount")
        return Decimal(0)
    total, below = Decimal(0), 0
    for tier in tiers:  # graduated
        top = quantity if tier.get("up_to") is None else min(quantity, int(tier["up_to"]))
        if top <= below:
            break
        total += _unit(tier, "unit_amount") * (top - below) + _unit(tier, "flat_amount")
        below = top
    return total


def item_amount(item: dict[str, Any]) -> Decimal:
    """Cents per billing interval of one subscription item."""
    price = _price(item)
    if (price.get("recurring") or {}).get("usage_type", price.get("usage_type")) == "metered":
        return Decimal(0)
    quantity = _quantity(item, price)
    if price.get("billing_scheme") == "tiered":
        return tiered_amount(price.get("tiers") or [], price.get("tiers_mode") or "graduated", quantity)
    return _per_unit(price) * quantity


def _per_unit(price: dict[str, Any]) -> Decimal:
    if "unit_amount" in price or "unit_amount_decimal" in price:
        return _unit(price, "unit_amount")
    return _unit(price, "amount")  # a legacy Plan


def _items(sub: dict[str, Any]) -> list[dict[str, Any]]:
    items = sub.get("items") or {}
    return items.get("data") if isinstance(items, dict) else list(items)


def currencies(sub: dict[str, Any]) -> set[str]:
    found = {(_price(i).get("currency") or "").lower() for i in _items(sub)}
    found |= {
        (d["coupon"].get("currency") or "").lower() for d in discounts(sub) if d["coupon"].get("amount_off")
    }
    return found - {""}


def discounts(sub: dict[str, Any]) -> list[dict[str, Any]]:
    """The subscription's discount objects with their coupon, from `discount` and expanded `discounts`."""
    found: dict[str, dict[str, Any]] = {}
    for discount in [sub.get("discount"), *(sub.get("discounts") or [])]:
        if not isinstance(discount, dict):
            continue  # an unexpanded id: nothing to apply
        coupon = discount.get("coupon") or (discount.get("source") or {}).get("coupon")
        if isinstance(coupon, dict):
            found[discount.get("id") or str(len(found))] = {**discount, "coupon": coupon}
    return list(found.values())


def base_monthly(sub: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(cents a month before discounts, months per billing interval)."""
    items = _items(sub)
    total = sum((item_amount(i) / months_per_interval(_price(i)) for i in items), Decimal(0))
    months = months_per_interval(_price(items[0])) if items else Decimal(1)
    return total, months


def mrr_on(sub: dict[str, Any], day: dt.date) -> Decimal:
    """Cents a month that `sub` (one snapshot) brings on `day`."""
    start = day_of(sub.get("start_date") or sub.get("created"))
    if start is not None and day < start:
        return Decimal(0)
    status = sub.get("status")
    if status == "trialing":
        return Decimal(0)
    trial_end = day_of(sub.get("trial_end"))
    if trial_end is not None and day < trial_end:
        return Decimal(0)
    ended = day_of(sub.get("ended_at"))
    if ended is not None and day >= ended:
        return Decimal(0)
    cancel_at = day_of(sub.get("cancel_at"))
    if cancel_at is not None and day >= cancel_at:
        return Decimal(0)
    if status in NOT_PAYING and status != "canceled":
        return Decimal(0)
    if status == "canceled" and ended is None:
        return Decimal(0)
    base, months = base_monthly(sub)
    off = Decimal(0)
    for discount in discounts(sub):
        coupon = discount["coupon"]
        if coupon.get("duration") == "once":
            continue
        begins, ends = day_of(discount.get("start")), day_of(discount.get("end"))
        if (begins is not None and day < begins) or (ends is not None and day >= ends):
            continue
        if coupon.get("percent_off") is not None:
            off += base * _dec(coupon["percent_off"]) / 100
        elif coupon.get("amount_off") is not None:
            off += _dec(coupon["amount_off"]) / months
    return max(base - off, Decimal(0))


def breakpoints(sub: dict[str, Any]) -> set[dt.date]:
    """The days on which this snapshot's MRR may change."""
    stamps = [sub.get(name) for name in ("start_date", "trial_end", "ended_at", "cancel_at")]
    for discount in discounts(sub):
        stamps += [discount.get("start"), discount.get("end")]
    return {d for d in (day_of(s) for s in stamps if s) if d is not None}


def schedule(versions: Sequence[tuple[dt.date, dict[str, Any]]]) -> dict[dt.date, Decimal]:
    """{day: cents} where a subscription's MRR may change, from its snapshots (each in force from its day
    until the next one's)."""
    ordered = sorted(versions, key=lambda v: v[0])
    out: dict[dt.date, Decimal] = {}
    for n, (since, sub) in enumerate(ordered):
        until = ordered[n + 1][0] if n + 1 < len(ordered) else None
        for day in {since} | breakpoints(sub):
            if day >= since and (until is None or day < until):
                out[day] = mrr_on(sub, day)
    return out


def value_on(points: dict[dt.date, Decimal], day: dt.date) -> Decimal:
    """A schedule's MRR on `day`: its latest point on or before it (0 before the first)."""
    best = None
    for point in points:
        if point <= day and (best is None or point > best):
            best = point
    return points[best] if best is not None else Decimal(0)


def customer_ledger(
    schedules: Iterable[dict[dt.date, Decimal]], extra_days: Iterable[dt.date] = ()
) -> dict[dt.date, Decimal]:
    """{day: dollars} of a customer: Σ of its subscriptions on every day one of them changes (and on
    `extra_days`, the days of its existing ledger rows from the first change on, so rows a subscription no
    longer explains get the right value), rounded to the cent."""
    schedules = list(schedules)
    days = {d for s in schedules for d in s}
    if not days:
        return {}
    first = min(days)
    keep = {d for d in extra_days if d >= first}
    out: dict[dt.date, Decimal] = {}
    previous = Decimal(0)
    for day in sorted(days | keep):
        total = (sum((value_on(s, day) for s in schedules), Decimal(0)) / 100).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        if total != previous or day in keep:  # a day that changes nothing is no row (unless one exists)
            out[day] = total
        previous = total
    return out


# The fields of a Subscription that the rules read: a version stores only these, so syncing an unchanged
# subscription again finds an equal version and writes nothing.
RELEVANT = (
    "id",
    "customer",
    "status",
    "start_date",
    "created",
    "trial_end",
    "ended_at",
    "cancel_at",
    "currency",
)


def relevant(sub: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in _items(sub):
        price = _price(item)
        items.append(
            {
                "quantity": item.get("quantity"),
                "price": {
                    k: price.get(k)
                    for k in (
                        "id",
                        "currency",
                        "unit_amount",
                        "unit_amount_decimal",
                        "amount",
                        "amount_decimal",
                        "billing_scheme",
                        "tiers_mode",
                        "tiers",
                        "recurring",
                        "interval",
                        "interval_count",
                        "usage_type",
                        "transform_quantity",
                    )
                    if price.get(k) is not None
                },
            }
        )
    found = [
        {
            "id": d.get("id"),
            "start": d.get("start"),
            "end": d.get("end"),
            "coupon": {
                k: d["coupon"].get(k)
                for k in ("percent_off", "amount_off", "currency", "duration")
                if k in d["coupon"]
            },
        }
        for d in discounts(sub)
    ]
    return {**{k: sub.get(k) for k in RELEVANT}, "items": {"data": items}, "discounts": found}
