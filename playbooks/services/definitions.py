"""Configuring playbooks (docs/playbooks.md): playbooks with their steps, and their triggers (parameters
validated by the condition registry, playbooks.triggers). Managers and admins only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from accounts.visibility import (
    can_edit_configuration,
)

from ..models import (
    Condition,
    Playbook,
    Step,
    Trigger,
)
from ..triggers import clean_params


def _require_config(user: User) -> None:
    if not can_edit_configuration(user):
        raise PermissionDenied("Only managers and admins can edit playbooks and triggers.")


def playbook_save(
    *,
    user: User,
    playbook: Playbook | None,
    name: str,
    purpose: str,
    enabled: bool,
    steps: Sequence[dict[str, Any]],
) -> Playbook:
    """Create or update a playbook and replace its steps (running tasks keep their own copy of each step)."""
    _require_config(user)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the playbook a name."})
    if Playbook.objects.filter(name__iexact=name).exclude(pk=playbook.pk if playbook else None).exists():
        raise ValidationError({"name": "Another playbook has this name."})
    if not steps:
        raise ValidationError({"steps": "Add at least one step."})
    with transaction.atomic():
        if playbook is None:
            playbook = Playbook.objects.create(name=name, purpose=purpose.strip(), enabled=enabled)
        else:
            playbook.name, playbook.purpose, playbook.enabled = name, purpose.strip(), enabled
            playbook.save()
        keep: list[int] = []
        for order, data in enumerate(steps, start=1):
            fields = {
                "order": order,
                "title": data["title"],
                "guidance": data.get("guidance", ""),
                "due_after_days": data.get("due_after_days") or 0,
                "required_touchpoint_kind": data.get("required_touchpoint_kind", ""),
            }
            step_id = data.get("id")
            if step_id and playbook.steps.filter(pk=step_id).update(**fields):
                keep.append(step_id)
            else:
                keep.append(Step.objects.create(playbook=playbook, **fields).pk)
        playbook.steps.exclude(pk__in=keep).delete()
    return playbook


def trigger_save(
    *,
    user: User,
    playbook: Playbook,
    trigger: Trigger | None,
    condition: str,
    params: dict[str, Any],
    enabled: bool,
    cooldown_days: int,
) -> Trigger:
    """Create or update a trigger; parameters are validated per condition (field errors as params.<name>)."""
    _require_config(user)
    if condition not in Condition.values:
        raise ValidationError({"condition": "Choose a condition."})
    cleaned = clean_params(condition, params)
    if not 0 <= int(cooldown_days) <= 3650:
        raise ValidationError({"cooldown_days": "Must be between 0 and 3650."})
    if trigger is None:
        trigger = Trigger(playbook=playbook)
    elif trigger.condition != condition:
        trigger.cursor = None
    trigger.condition, trigger.params, trigger.enabled = condition, cleaned, enabled
    trigger.cooldown_days = int(cooldown_days)
    trigger.save()
    return trigger


def trigger_delete(*, user: User, trigger: Trigger) -> None:
    _require_config(user)
    trigger.delete()
