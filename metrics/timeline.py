"""metrics' share of the customer timeline: tickets, MRR movements, health band changes and renewals
(docs/workspace.md#timeline)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.numbers import format_money
from core.timeline import Row, Source, columns

from .models import MrrEntry, Outcome, Priority, Renewal, Ticket
from .models.health import Band, HealthSnapshot


def _money(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _tickets(customer_id: int) -> QuerySet:
    return columns(
        Ticket.objects.filter(customer_id=customer_id),
        kind="ticket",
        at="opened_at",
        a="priority",
        b="external_id",
        c="category",
    )


def _describe_ticket(row: Row) -> tuple[str, str]:
    priority = Priority(row.a).label.lower() if row.a in Priority.values else row.a
    detail = f"#{row.b}" + (f" · {row.c}" if row.c else "")
    return f"Ticket opened ({priority} priority)", detail


def _mrr(customer_id: int) -> QuerySet:
    return columns(
        MrrEntry.objects.filter(customer_id=customer_id),
        kind="mrr_change",
        at="effective_date",
        at_is_date=True,
        a="mrr",
        b="prev_mrr",
        c="positive_before",
    )


def _describe_mrr(row: Row) -> tuple[str, str]:
    """The movement as docs/metrics.md names it (new, reactivation, expansion, contraction, churn)."""
    value, prev = _money(row.a) or Decimal(0), _money(row.b) or Decimal(0)
    positive_before = row.c.lower() in ("1", "true", "t")
    if prev == 0 and value > 0:
        title = "Reactivation MRR" if positive_before else "New MRR"
    elif value > prev > 0:
        title = "Expansion MRR"
    elif 0 < value < prev:
        title = "Contraction MRR"
    elif prev > 0 and value == 0:
        title = "Churned MRR"
    else:
        title = "MRR unchanged"
    return title, f"{format_money(prev, 2)} → {format_money(value, 2)} a month"


def _bands(customer_id: int) -> QuerySet:
    previous = (
        HealthSnapshot.objects.filter(customer_id=OuterRef("customer_id"), date__lt=OuterRef("date"))
        .order_by("-date")
        .values("band")[:1]
    )
    changed = (
        HealthSnapshot.objects.filter(customer_id=customer_id)
        .exclude(band="")
        .annotate(previous_band=Subquery(previous))
        .filter(Q(previous_band__isnull=True) | ~Q(previous_band=F("band")))
    )
    return columns(
        changed, kind="health_band", at="date", at_is_date=True, a="band", b="previous_band", c="score"
    )


def _band(value: str) -> str:
    return Band(value).label if value in Band.values else "no score"


def _describe_band(row: Row) -> tuple[str, str]:
    detail = f"Score {row.c}" if row.c else "Not enough data"
    if row.b:
        detail = f"From {_band(row.b).lower()} · {detail}"
    return f"Health turned {_band(row.a).lower()}", detail


def _renewals(customer_id: int) -> QuerySet:
    # A renewal is an event once it is due; the ones ahead are on the renewals page, not in the history.
    return columns(
        Renewal.objects.filter(customer_id=customer_id, due_date__lte=timezone.localdate()),
        kind="renewal",
        at="due_date",
        at_is_date=True,
        a="outcome",
        b="arr_due",
        c="renewed_arr",
    )


def _describe_renewal(row: Row) -> tuple[str, str]:
    outcome = Outcome(row.a).label.lower() if row.a in Outcome.values else row.a
    detail = f"ARR due {format_money(_money(row.b))}"
    if row.c:
        detail += f" · renewed at {format_money(_money(row.c))}"
    return f"Renewal due: {outcome}", detail


def sources() -> list[Source]:
    return [
        Source("ticket", "Tickets", _tickets, _describe_ticket),
        Source("mrr_change", "MRR changes", _mrr, _describe_mrr),
        Source("health_band", "Health", _bands, _describe_band),
        Source("renewal", "Renewals", _renewals, _describe_renewal),
    ]
