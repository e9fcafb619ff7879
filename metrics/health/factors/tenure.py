"""Tenure (docs/health.md#tenure): days since the customer's contract started, or, without a contract start,
since its first paying MRR row. The first months are when customers leave most; a fitted model weighs that
against the other factors (the default models v1 and v2 leave it off)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Min

from accounts.selectors import contract_start_by_customer
from metrics.models import MrrEntry

from . import Factor, Reading, excused, register

EARLY_DAYS = 180  # early_tenure applies in a customer's first 180 days


@register
class Tenure(Factor):
    key = "tenure"
    label = "Tenure"
    description = (
        "Days since the contract started (without a contract start: since the first paying MRR row); "
        "new customers leave most often"
    )
    default_weight = 10
    default_bad = 30.0
    default_good = 365.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        starts = contract_start_by_customer(customer_ids=customer_ids)
        unknown = [cid for cid, start in starts.items() if start is None]
        if unknown:
            first_paid = (
                MrrEntry.objects.filter(customer_id__in=unknown, mrr__gt=0, effective_date__lte=day)
                .values("customer_id")
                .annotate(first=Min("effective_date"))
                .values_list("customer_id", "first")
                .order_by()
            )
            starts.update(dict(first_paid))
        return {
            cid: Reading(value=float((day - start).days), as_of=start, detail={"since": start.isoformat()})
            for cid, start in starts.items()
            if start is not None and start <= day
        }

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        days = round(value)
        return f"{days} day{'s' if days != 1 else ''} (since {detail.get('since', '?')})"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if after.get("raw_value") is not None:
            return f"Tenure is now {after['raw_value']:.0f} days"
        return super().explain(before, after, delta)


@register
class EarlyTenure(Tenure):
    """Tenure while it matters: in the first EARLY_DAYS only (docs/health.md#new-customer). After that the
    factor does not apply (excused), so it lowers a new customer's score and never lifts an established one's:
    a customer of five years with no usage and an angry pulse stays as red as its behaviour says."""

    key = "early_tenure"
    label = "New customer"
    description = (
        "Days since the contract started (without one: since the first paying MRR row), during the first "
        "180 days; a customer in its first months is the likeliest to leave. Not used after 180 days"
    )
    default_weight = 15
    default_bad = 30.0
    default_good = 180.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        out = super().readings(customer_ids=customer_ids, day=day)
        for cid, reading in out.items():
            if reading.value is not None and reading.value >= EARLY_DAYS:
                out[cid] = excused(f"past its first {EARLY_DAYS} days")
        return out

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if after.get("raw_value") is not None:
            return f"A customer for {after['raw_value']:.0f} days (new customers leave most often)"
        if before and before.get("raw_value") is not None:
            return f"Past its first {EARLY_DAYS} days: no longer counted as a new customer"
        return super().explain(before, after, delta)
