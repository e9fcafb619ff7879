"""Customer page panel (cshub/panels.py): the customer's open playbook runs with their tasks, and — for
managers and admins allowed to (docs/architecture.md#roles-and-permissions) — a form to start a playbook."""

from __future__ import annotations

from typing import Any

from accounts.visibility import can_manage_customer
from core.panels import Panel

from .models import Playbook
from .selectors import runs_for_customer


def customer_panels(*, customer: Any, user: Any) -> list[Panel]:
    """Two queries (runs, their tasks), plus one for the playbook choices when the user may assign."""
    can_assign = can_manage_customer(user, customer)
    context = {
        "runs": runs_for_customer(customer=customer),
        "can_assign": can_assign,
        "playbooks": list(Playbook.objects.filter(enabled=True).order_by("name")) if can_assign else [],
    }
    return [Panel(title="Playbooks", template="playbooks/panels/customer.html", context=context, order=30)]
