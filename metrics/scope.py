"""Which customers a metric covers: the whole company, one CSM's book, a set of books (a manager's teams),
one segment or one customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Customer, User


@dataclass(frozen=True)
class Scope:
    csm: User | None = None
    segment: str | None = None
    customer: Customer | None = None
    # The books of these CSMs (accounts.visibility.scope_csm_ids: a CSM's own, a manager's teams).
    csm_ids: tuple[int, ...] | None = None

    @property
    def is_company(self) -> bool:
        return self.csm is None and not self.segment and self.customer is None and self.csm_ids is None

    def customers(self) -> QuerySet[Customer]:
        qs = Customer.objects.all()
        if self.csm is not None:
            qs = qs.filter(csm=self.csm)
        if self.csm_ids is not None:
            qs = qs.filter(csm_id__in=self.csm_ids)
        if self.segment:
            qs = qs.filter(segment=self.segment)
        if self.customer is not None:
            qs = qs.filter(pk=self.customer.pk)
        return qs

    def sql(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> IN (<customers subquery>)`, or nothing for the whole company."""
        if self.is_company:
            return "", []
        if self.customer is not None and self.csm is None and not self.segment and self.csm_ids is None:
            return f" AND {column} = %s", [self.customer.pk]
        sql, params = self.customers().order_by().values("pk").query.sql_with_params()
        return f" AND {column} IN ({sql})", list(params)


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def adapt_date(value: Any) -> Any:
    return connection.ops.adapt_datefield_value(value)
