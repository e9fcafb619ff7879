"""License utilization below X (docs/playbooks.md and docs/metrics.md): active users in the last 30 days ÷
licenses < X.

Customers live for less than `grace_days` (go-live, else contract start) are left alone: they are still
rolling out, which the onboarding playbook covers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Count, ExpressionWrapper, F, FloatField, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Customer
from metrics.models import UsageDaily

from .base import Context, Match, as_int, as_number, finish

CONDITION = "license_utilization_below"
SPEED = "nightly"
DEFAULTS = {"utilization": 0.3, "grace_days": 60}
WINDOW = 30


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {
        "utilization": as_number(params, "utilization", 0.3, low=0.01, high=1.0, errors=errors),
        "grace_days": as_int(params, "grace_days", 60, low=0, high=730, errors=errors),
    }
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    share, grace = params["utilization"] * 100, params["grace_days"]
    return f"License utilization below {share:.0f} % (customers live {grace}+ days)"


def reason(params: dict, values: dict) -> str:
    return (
        f"License utilization {values['utilization'] * 100:.0f} %: {values['active_users_30d']} active users "
        f"for {values['licenses']} licenses"
    )


def matches(ctx: Context) -> Iterator[Match]:
    window_start = ctx.today - dt.timedelta(days=WINDOW - 1)
    live_before = ctx.today - dt.timedelta(days=ctx.params["grace_days"])
    active = (
        UsageDaily.objects.filter(customer=OuterRef("pk"), day__gte=window_start, day__lte=ctx.today)
        .order_by()
        .values("customer")
        .annotate(n=Count("user_id", distinct=True))
        .values("n")
    )
    rows = (
        Customer.objects.filter(pk__in=ctx.eligible, licenses__gt=0)
        .filter(
            Q(go_live_date__lte=live_before)
            | Q(go_live_date__isnull=True, contract_start__lte=live_before)
            | Q(go_live_date__isnull=True, contract_start__isnull=True)
        )
        .annotate(active=Coalesce(Subquery(active, output_field=IntegerField()), 0))
        .annotate(
            limit=ExpressionWrapper(F("licenses") * ctx.params["utilization"], output_field=FloatField())
        )
        .filter(active__lt=F("limit"))
        .values_list("pk", "active", "licenses")
        .order_by("pk")
    )
    for pk, active_users, licenses in rows:
        yield Match(
            customer_id=pk,
            values={
                "active_users_30d": active_users,
                "licenses": licenses,
                "utilization": round(active_users / licenses, 4),
            },
        )
