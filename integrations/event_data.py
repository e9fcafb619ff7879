"""What an outbound message says about a domain event (docs/integrations.md#event-payloads).

core.events carries ids; a receiver outside cshub needs names, emails and links back to the app, so this
builds them once, in the event's transaction (a few primary-key reads: events are rare, one per change).
Links are absolute, from settings.SITE_URL.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.models import Customer, User
from playbooks.models import Run, Task
from surveys.models import Response


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def customer_data(customer_id: int) -> dict[str, Any]:
    customer = Customer.objects.select_related("csm").get(pk=customer_id)
    return {
        "external_id": customer.external_id,
        "name": customer.name,
        "csm_email": customer.csm.email if customer.csm else None,
        "url": absolute(customer.get_absolute_url()),
    }


def _email(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id).values_list("email", flat=True).first()


def event_data(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a message for `event` with core.events `payload` (ids) made readable."""
    data: dict[str, Any] = {"customer": customer_data(payload["customer_id"])}
    if event == "health.band_changed":
        data.update({k: payload[k] for k in ("day", "band", "previous_band", "score")})
    elif event == "customer.churned":
        data["day"] = payload["day"]
    elif event == "playbook_run.started":
        run = Run.objects.select_related("playbook", "assignee").get(pk=payload["run_id"])
        data["run"] = {
            "id": run.pk,
            "playbook": run.playbook.name,
            "reason": run.reason,
            "assignee_email": run.assignee.email if run.assignee else None,
            "started_at": run.started_at.isoformat(),
            "url": absolute(run.get_absolute_url()),
        }
    elif event == "task.completed":
        task = Task.objects.select_related("run").get(pk=payload["task_id"])
        data["task"] = {
            "id": task.pk,
            "title": task.title,
            "run_id": task.run_id,
            "completed_by_email": _email(payload["user_id"]),
            "completed_at": task.completed_at.isoformat() if task.completed_at else None,
            "url": absolute(task.run.get_absolute_url()),
        }
    elif event == "survey.answered":
        response = Response.objects.get(pk=payload["response_id"])
        data["response"] = {
            "id": response.pk,
            "kind": response.kind,
            "score": response.score,
            "comment": response.comment,
            "contact_email": response.contact_email,
            "answered_at": response.answered_at.isoformat(),
        }
    return data
