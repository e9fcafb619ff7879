"""Customer page panel (cshub/panels.py): the customer's open playbook runs with their tasks, and — for
managers and admins allowed to (docs/architecture.md#roles-and-permissions) — a form to start a playbook."""

from __future__ import annotations

from typing import Any

from accounts.visibility import can_edit_customer, can_manage_customer, task_assignees
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
    panels = [Panel(title="Playbooks", template="playbooks/panels/customer.html", context=context, order=30)]
    if can_edit_customer(
        user, customer
    ):  # ad-hoc tasks (docs/workspace.md#own-tasks): one query for the choices
        assignees = list(task_assignees(user).order_by("full_name", "email"))
        default = customer.csm_id if any(u.pk == customer.csm_id for u in assignees) else user.pk
        tasks = {"assignees": assignees, "default_assignee": default}
        panels.append(
            Panel(title="Add a task", template="playbooks/panels/task_add.html", context=tasks, order=31)
        )
    return panels
