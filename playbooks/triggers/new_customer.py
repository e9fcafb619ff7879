"""New customer (docs/playbooks.md, onboarding): the contract started within the last N days (or, without a
contract start, the customer was created then). Onboarding happens once: never if this playbook ran before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Customer
from playbooks.models import Run

from .base import Context, Match, as_int, finish

CONDITION = "new_customer"
SPEED = "fast"
DEFAULTS = {"within_days": 30}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {"within_days": as_int(params, "within_days", 30, low=1, high=365, errors=errors)}
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return f"New customer: contract started within the last {params['within_days']} days"


def reason(params: dict, values: dict) -> str:
    return f"New customer: contract started {values['since']}"


def matches(ctx: Context) -> Iterator[Match]:
    earliest = ctx.today - dt.timedelta(days=ctx.params["within_days"])
    before = Run.objects.filter(playbook_id=ctx.trigger.playbook_id, customer=OuterRef("pk"))
    rows = (
        Customer.objects.filter(pk__in=ctx.eligible)
        .annotate(since=Coalesce("contract_start", TruncDate("created_at")))
        .filter(Q(since__gte=earliest), Q(since__lte=ctx.today))
        .filter(~Exists(before))
        .values_list("pk", "since")
        .order_by("pk")
    )
    for pk, since in rows:
        yield Match(customer_id=pk, values={"since": since.isoformat()}, key="onboarding")
