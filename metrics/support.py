"""Support metrics over a period (docs/metrics.md "Support")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q

from core.numbers import ratio
from core.sql import day_bounds

from .models import Ticket
from .scope import Scope


@dataclass(frozen=True)
class SupportMetrics:
    """The `GET /api/v1/metrics/support/` answer (docs/api.md)."""

    start: dt.date
    end: dt.date
    tickets_opened: int
    tickets_resolved: int
    open_tickets: int
    avg_resolution_hours: Decimal | None
    first_contact_resolution_rate: Decimal | None


def support_metrics(*, scope: Scope, start: dt.date, end: dt.date) -> SupportMetrics:
    """docs/metrics.md Support: avg_resolution_hours = mean(resolved_at - opened_at) of tickets resolved in
    the
    period; first_contact_resolution_rate = share of those with first_contact_resolution true, among those
    where it is known; open_tickets = opened by the end and not resolved by then. One query."""
    lo, hi = day_bounds(start, end)
    tickets = Ticket.objects.all()
    if not scope.is_company:
        tickets = tickets.filter(customer__in=scope.customers().values("pk"))
    resolved = Q(resolved_at__gte=lo, resolved_at__lt=hi)
    row = tickets.aggregate(
        opened=Count("pk", filter=Q(opened_at__gte=lo, opened_at__lt=hi)),
        resolved=Count("pk", filter=resolved),
        open=Count("pk", filter=Q(opened_at__lt=hi) & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=hi))),
        avg=Avg(
            ExpressionWrapper(F("resolved_at") - F("opened_at"), output_field=DurationField()),
            filter=resolved,
        ),
        fcr_known=Count("pk", filter=resolved & Q(first_contact_resolution__isnull=False)),
        fcr_yes=Count("pk", filter=resolved & Q(first_contact_resolution=True)),
    )
    avg_hours = None
    if row["avg"] is not None:
        avg_hours = Decimal(row["avg"].total_seconds()) / 3600
    fcr = ratio(row["fcr_yes"], row["fcr_known"])
    return SupportMetrics(
        start=start,
        end=end,
        tickets_opened=row["opened"],
        tickets_resolved=row["resolved"],
        open_tickets=row["open"],
        avg_resolution_hours=avg_hours,
        first_contact_resolution_rate=fcr,
    )
