"""Who works a run (docs/playbooks.md "assigned to the customer's CSM (no CSM: the team's manager)").

1. The customer's CSM, if it has an active one.
2. No (active) CSM: the manager of a team of the customer's previous CSM. cshub keeps no CSM history on
   Customer, so "previous CSM" is the CSM who last worked a run for this customer (the assignee of its latest
   run that was assigned to a CSM) — exactly the case of a CSM removed from a customer with work in progress.
3. Otherwise `settings.CSHUB_PLAYBOOK_FALLBACK_ASSIGNEE` (an email), if set and active.
4. Otherwise the first active manager (by email), else the first active admin: work is never unassigned.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import OuterRef, Subquery

from accounts.models import Customer, Role, Team, User

from .models import Run


def default_assignee_id() -> int | None:
    email = getattr(settings, "CSHUB_PLAYBOOK_FALLBACK_ASSIGNEE", "")
    if email:
        found = User.objects.filter(email__iexact=email, is_active=True).values_list("pk", flat=True).first()
        if found:
            return found
    for role in (Role.MANAGER, Role.ADMIN):
        found = User.objects.filter(role=role, is_active=True).order_by("email").values_list("pk", flat=True)
        if found.exists():
            return found.first()
    return None


def assignees_for(customer_ids: Iterable[int]) -> dict[int, int | None]:
    """{customer id: assignee id} for many customers in a bounded number of queries."""
    ids = list(customer_ids)
    result: dict[int, int | None] = {}
    orphans: list[int] = []
    for start in range(0, len(ids), 5000):
        for pk, csm_id, csm_active in Customer.objects.filter(pk__in=ids[start : start + 5000]).values_list(
            "pk", "csm_id", "csm__is_active"
        ):
            if csm_id and csm_active:
                result[pk] = csm_id
            else:
                orphans.append(pk)
    if not orphans:
        return result
    last_csm = (
        Run.objects.filter(customer_id=OuterRef("pk"), assignee__role=Role.CSM)
        .order_by("-started_at", "-pk")
        .values("assignee_id")[:1]
    )
    previous = dict(
        Customer.objects.filter(pk__in=orphans).annotate(prev=Subquery(last_csm)).values_list("pk", "prev")
    )
    managers: dict[int, int] = {}
    for member_id, manager_id in (
        Team.objects.filter(members__in={p for p in previous.values() if p}, manager__is_active=True)
        .order_by("name")
        .values_list("members", "manager_id")
    ):
        managers.setdefault(member_id, manager_id)
    fallback = default_assignee_id()
    for pk in orphans:
        result[pk] = managers.get(previous.get(pk) or 0) or fallback
    return result
