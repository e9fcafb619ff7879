"""Revenue trend (docs/health.md): MRR on the day ÷ MRR 90 days before, from the MRR ledger (the MRR on a
day is the `mrr` of the customer's ledger row in force then). Contraction comes before churn."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from metrics.models import MrrEntry

from . import Factor, Reading, excused, id_range, register

LOOKBACK_DAYS = 90


def mrr_on(*, customer_ids: list[int], day: dt.date) -> dict[int, tuple[float, dt.date]]:
    """(MRR, effective date of the row in force) on `day` of the customers with a ledger row by then."""
    rows = (
        MrrEntry.objects.filter(
            Q(next_date__isnull=True) | Q(next_date__gt=day),
            **id_range(customer_ids),
            effective_date__lte=day,
        )
        .values_list("customer_id", "mrr", "effective_date")
        .order_by()
    )
    return {cid: (float(mrr), on) for cid, mrr, on in rows}


@register
class RevenueTrend(Factor):
    key = "revenue_trend"
    label = "Revenue trend"
    description = "MRR today ÷ MRR 90 days ago (missing for customers not paying 90 days ago)"
    default_weight = 10
    default_bad = 0.8
    default_good = 1.0

    def readings(self, *, customer_ids: list[int], day: dt.date) -> dict[int, Reading]:
        before = mrr_on(customer_ids=customer_ids, day=day - dt.timedelta(days=LOOKBACK_DAYS))
        now = mrr_on(customer_ids=customer_ids, day=day)
        wanted = set(customer_ids)
        young = excused("not paying 90 days ago")
        readings = {cid: young for cid in customer_ids}  # younger than 90 days: excused
        for cid, (then, _) in before.items():
            if cid not in wanted or then <= 0:
                continue
            mrr, on = now.get(cid, (0.0, None))
            readings[cid] = Reading(value=mrr / then, as_of=on, detail={"mrr": mrr, "mrr_before": then})
        return readings

    def format_raw(self, value: float | None, detail: dict[str, Any]) -> str:
        if value is None:
            return "\u2013"
        mrr, before = detail.get("mrr", 0), detail.get("mrr_before", 0)
        return f"{value:.2f}x (${mrr:,.0f} vs ${before:,.0f} 90 days before)"

    def explain(self, before: dict[str, Any] | None, after: dict[str, Any], delta: float) -> str:
        if after.get("raw_value") is not None:
            was, now = after["detail"]["mrr_before"], after["detail"]["mrr"]
            if now < was:
                return f"MRR fell from ${was:,.0f} to ${now:,.0f} over 90 days"
            if now > was:
                return f"MRR rose from ${was:,.0f} to ${now:,.0f} over 90 days"
            return f"MRR stayed at ${now:,.0f} over 90 days"
        return super().explain(before, after, delta)
