"""The team page's rows: who is on the team, and one row of figures per CSM plus the team total."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import User
from accounts.visibility import is_signed_in, visible_csms
from core.numbers import ratio
from core.sql import analytic_transaction
from metrics import revenue
from metrics.revenue import RevenueTotals

from .activity import books_by_csm, onboarding_by_csm, tasks_by_csm, touchpoints_by_csm
from .money import add_totals, renewals_by_csm, revenue_by_csm
from .rollup import revenue_for_team

DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12: "per month" over periods of any length

# --- Who is on the team ---------------------------------------------------------------------------


def team_csms(*, viewer: User) -> list[User]:
    """The CSMs whose rows `viewer` may see: a manager their teams' CSMs, an admin every active CSM.
    CSMs see no team page (docs/architecture.md#roles-and-permissions "team performance per CSM" is a
    manager's view)."""
    if not is_signed_in(viewer):
        raise PermissionDenied
    return list(visible_csms(viewer).only("pk", "email", "full_name").order_by("full_name", "email"))


# --- The rows -------------------------------------------------------------------------------------

_INT_PARTS = (
    "book_size",
    "fresh_pulse_customers",
    "touchpoints",
    "advocacy_touchpoints",
    "renewals_due",
    "renewed",
    "churned",
    "started",
    "ttv_days_sum",
    "ttv_customers",
    "onboard_days_sum",
    "onboarded_customers",
    "tasks_on_time",
    "tasks_late",
    "tasks_overdue",
    "open_tasks",
    "overdue_tasks",
)
_MONEY_PARTS = ("renewal_arr_decided", "renewal_arr_gross", "renewal_arr_net")


@dataclass
class TeamRow:
    """One CSM's figures (csm None: the team total). Raw sums are kept; every rate is a property."""

    csm: User | None
    revenue: RevenueTotals
    days: int
    parts: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        parts = self.__dict__.get("parts", {})
        if name in _INT_PARTS:
            return parts.get(name, 0)
        if name in _MONEY_PARTS:
            return parts.get(name, Decimal("0.00"))
        raise AttributeError(name)

    @property
    def is_total(self) -> bool:
        return self.csm is None

    @property
    def arr(self) -> Decimal:
        return revenue.arr(self.revenue)

    @property
    def nrr(self) -> Decimal | None:
        return revenue.nrr(self.revenue)

    @property
    def grr(self) -> Decimal | None:
        return revenue.grr(self.revenue)

    @property
    def expansion_mrr(self) -> Decimal:
        return self.revenue.expansion

    @property
    def logo_renewal_rate(self) -> Decimal | None:
        return ratio(self.renewed, self.renewed + self.churned)

    @property
    def gross_renewal_rate(self) -> Decimal | None:
        return ratio(self.renewal_arr_gross, self.renewal_arr_decided)

    @property
    def net_renewal_rate(self) -> Decimal | None:
        return ratio(self.renewal_arr_net, self.renewal_arr_decided)

    @property
    def avg_time_to_value_days(self) -> Decimal | None:
        return ratio(self.ttv_days_sum, self.ttv_customers)

    @property
    def avg_days_to_onboard(self) -> Decimal | None:
        return ratio(self.onboard_days_sum, self.onboarded_customers)

    @property
    def touchpoints_per_customer_month(self) -> Decimal | None:
        months = Decimal(self.days) / DAYS_PER_MONTH
        return ratio(self.touchpoints, self.book_size * months) if self.book_size else None

    @property
    def fresh_pulse_share(self) -> Decimal | None:
        return ratio(self.fresh_pulse_customers, self.book_size)

    @property
    def tasks_on_time_rate(self) -> Decimal | None:
        """Of the tasks due in the period that are done or past due: the share done on time."""
        return ratio(self.tasks_on_time, self.tasks_on_time + self.tasks_late + self.tasks_overdue)


@dataclass(frozen=True)
class TeamPerformance:
    start: dt.date
    end: dt.date
    as_of: dt.date
    rows: list[TeamRow]
    total: TeamRow


def team_performance(
    *, viewer: User, start: dt.date, end: dt.date, today: dt.date | None = None, rollup: bool = True
) -> TeamPerformance:
    """One row per CSM `viewer` may see (team_csms) for [start, end], and the total over their books.
    Point-in-time figures (ARR, fresh pulses, time to value) are as of the period's end, or today if
    the period has not ended. A fixed number of queries, whatever the number of CSMs or customers.
    `rollup` False: the revenue from the facts alone (the CSV export), not the team rollup (same figures)."""
    csms = team_csms(viewer=viewer)
    today = today or timezone.localdate()
    as_of = min(end, today)
    ids = [u.pk for u in csms]
    with analytic_transaction(cap_parallel_workers=True):
        # The stored rollup of the period where it holds it, else the facts (same figures: rollup.py).
        if rollup:
            money = revenue_for_team(csm_ids=ids, start=start, end=as_of)
        else:
            money = revenue_by_csm(csm_ids=ids, start=start, end=as_of)
        grouped = [
            books_by_csm(csm_ids=ids, as_of=as_of),
            touchpoints_by_csm(csm_ids=ids, start=start, end=end),
            renewals_by_csm(csm_ids=ids, start=start, end=end),
            onboarding_by_csm(csm_ids=ids, start=start, end=end, as_of=as_of),
            tasks_by_csm(csm_ids=ids, start=start, end=end, today=today),
        ]
    empty = revenue.totals_from_cents(start=start, end=as_of, money=[0] * 7, counts=[0] * 3, cohort=[0] * 2)
    days = (end - start).days + 1
    rows = []
    for user in csms:
        parts: dict[str, Any] = {}
        for source in grouped:
            parts.update(source.get(user.pk, {}))
        rows.append(TeamRow(csm=user, revenue=money.get(user.pk, empty), days=days, parts=parts))
    total_parts: dict[str, Any] = {}
    for name in _INT_PARTS:
        total_parts[name] = sum(getattr(r, name) for r in rows)
    for name in _MONEY_PARTS:
        total_parts[name] = sum((getattr(r, name) for r in rows), Decimal("0.00"))
    total = TeamRow(
        csm=None,
        revenue=add_totals([r.revenue for r in rows], start=start, end=as_of),
        days=days,
        parts=total_parts,
    )
    return TeamPerformance(start=start, end=end, as_of=as_of, rows=rows, total=total)
