"""Writes for people and customers. Keyword-only, typed, each owns its transaction (STYLE.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Contact, Customer, Pulse, Role, Team, Touchpoint, User
from .permissions import can_edit_customer

# A touchpoint may be logged slightly ahead (time zones, a call about to start), never further.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def validate_not_in_future(value: dt.datetime) -> None:
    """Shared rule for forms, serializers and services: at most one day ahead of now."""
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError("This date is in the future; log what already happened (at most 1 day ahead).")


def _require_edit(user: User, customer: Customer) -> None:
    if not can_edit_customer(user, customer):
        raise PermissionDenied("You can only log activity on customers in your book.")


@transaction.atomic
def touchpoint_log(
    *,
    user: User,
    customer: Customer,
    kind: str,
    occurred_at: dt.datetime,
    summary: str,
    sentiment: str = "",
    contacts: Iterable[Contact] = (),
) -> Touchpoint:
    """Record a touchpoint on a customer the user may edit."""
    _require_edit(user, customer)
    validate_not_in_future(occurred_at)
    contacts = list(contacts)
    if any(c.customer_id != customer.pk for c in contacts):
        raise ValidationError({"contacts": "Contacts must belong to this customer."})
    touchpoint = Touchpoint.objects.create(
        customer=customer, author=user, kind=kind, occurred_at=occurred_at, summary=summary, sentiment=sentiment
    )
    if contacts:
        touchpoint.contacts.set(contacts)
    return touchpoint


@transaction.atomic
def pulse_log(*, user: User, customer: Customer, score: int, note: str = "") -> Pulse:
    """Record the CSM's 1–5 read of the relationship."""
    _require_edit(user, customer)
    if not 1 <= int(score) <= 5:
        raise ValidationError({"score": "Pulse score must be between 1 and 5."})
    return Pulse.objects.create(customer=customer, author=user, score=score, note=note)


@transaction.atomic
def user_create(
    *, email: str, role: str, password: str | None = None, full_name: str = "", team: str | None = None
) -> User:
    """Create (or update the role/password/team of) a user; used by `create_user` and the demo seed."""
    if role not in Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Role.values)}."})
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, role=role, full_name=full_name)
    else:
        user.role = role
        if full_name:
            user.full_name = full_name
        if password:
            user.set_password(password)
    user.is_staff = role == Role.ADMIN or user.is_superuser
    user.save()
    if team:
        team_obj, _ = Team.objects.get_or_create(name=team)
        if role == Role.MANAGER:
            team_obj.manager = user
            team_obj.save(update_fields=["manager"])
        else:
            team_obj.members.add(user)
    return user
