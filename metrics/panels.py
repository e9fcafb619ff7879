"""Customer page panels (cshub/panels.py): revenue (MRR history), usage (active users, utilization, feature
adoption, time to value), support tickets (open first) and renewals. A fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from accounts.visibility import can_edit_customer
from core.panels import Panel

from .engagement import engagement_metrics
from .forms import ValueMilestoneForm
from .models import ForecastCategory, MrrEntry, Renewal, Ticket
from .renewal_rules import at_risk_rate, with_expected
from .scope import Scope
from .support import support_metrics

CHART_JS = "vendor/chart-4.6.1.min.js"
TICKETS_SHOWN = 10
SUPPORT_DAYS = 90


def _revenue(customer: Any) -> dict[str, Any]:
    ledger = list(
        MrrEntry.objects.filter(customer=customer)
        .order_by("effective_date")
        .values_list("effective_date", "mrr")
    )
    today = timezone.localdate()
    current = next((mrr for day, mrr in reversed(ledger) if day <= today), None)
    points = [{"date": d.isoformat(), "mrr": float(m)} for d, m in ledger]
    if ledger and ledger[-1][0] < today:
        points.append({"date": today.isoformat(), "mrr": float(ledger[-1][1])})  # the line runs up to today
    return {
        "ledger": list(reversed(ledger))[:24],
        "ledger_count": len(ledger),
        "current_mrr": current,
        "current_arr": None if current is None else current * 12,
        "chart": points,
        "chart_js": CHART_JS,
    }


def _support(customer: Any) -> dict[str, Any]:
    open_first = Case(
        When(resolved_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    tickets = list(
        Ticket.objects.filter(customer=customer)
        .annotate(is_resolved=open_first)
        .order_by("is_resolved", "-opened_at")[:TICKETS_SHOWN]
    )
    today = timezone.localdate()
    stats = support_metrics(
        scope=Scope(customer=customer), start=today - dt.timedelta(days=SUPPORT_DAYS - 1), end=today
    )
    return {"tickets": tickets, "stats": stats, "days": SUPPORT_DAYS}


def customer_panels(*, customer: Any, user: Any) -> list[Panel]:
    today = timezone.localdate()
    engagement = engagement_metrics(customer=customer, as_of=today)
    usage = {
        "e": engagement,
        "adoption": [
            {
                "feature": f,
                "rate": rate,
                "users": engagement.feature_users.get(f, 0),
                "key": f in engagement.key_features,
            }
            for f, rate in engagement.feature_adoption.items()
        ],
        "can_log": can_edit_customer(user, customer),
        "milestone_form": ValueMilestoneForm(),
    }
    # With each renewal's forecast (docs/renewals.md): one more query for the at_risk rate.
    renewals = list(
        with_expected(Renewal.objects.filter(customer=customer), at_risk_rate(today)).order_by("-due_date")[
            :8
        ]
    )
    return [
        Panel(title="Revenue", template="metrics/panels/revenue.html", context=_revenue(customer), order=20),
        Panel(title="Usage", template="metrics/panels/usage.html", context=usage, order=30),
        Panel(
            title="Support tickets",
            template="metrics/panels/support.html",
            context=_support(customer),
            order=40,
            wide=True,
        ),
        Panel(
            title="Renewals",
            template="metrics/panels/renewals.html",
            context={
                "renewals": renewals,
                "can_edit": usage["can_log"],
                "categories": ForecastCategory.choices,
            },
            order=50,
        ),
    ]
