"""Whose portfolio a dashboard covers: a CSM's book, a manager's teams, everything for an admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import Customer, User
from accounts.visibility import scope_csm_ids, scope_label
from core.sql import in_list


@dataclass(frozen=True)
class Portfolio:
    """The customers a dashboard covers: customers of `csm_ids`, or every customer when it is None."""

    viewer: User
    csm_ids: tuple[int, ...] | None
    label: str

    @property
    def is_everything(self) -> bool:
        return self.csm_ids is None

    def customers(self) -> QuerySet[Customer]:
        if self.csm_ids is None:
            return Customer.objects.all()
        return Customer.objects.filter(csm_id__in=self.csm_ids)

    def sql(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> IN (...)` over the CSM ids, or nothing for everything."""
        if self.csm_ids is None:
            return "", []
        return in_list(column, self.csm_ids)


def portfolio_for(user: User) -> Portfolio:
    """A CSM's own book; a manager's teams (and customers they own themselves, as their Book shows);
    an admin's everything (accounts.visibility.scope_csm_ids)."""
    return Portfolio(user, scope_csm_ids(user), scope_label(user))
