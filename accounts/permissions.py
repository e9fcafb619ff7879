"""docs/architecture.md#roles-and-permissions as functions. Services call these; templates use them only to
hide what is denied anyway."""

from __future__ import annotations

from .models import Customer, Role, User


def _active(user: User) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_admin(user: User) -> bool:
    return _active(user) and user.role == Role.ADMIN


def is_manager_or_admin(user: User) -> bool:
    return _active(user) and user.role in (Role.MANAGER, Role.ADMIN)


def can_edit_customer(user: User, customer: Customer) -> bool:
    """Log touchpoints/pulses, edit details: own customers (CSM), teams' customers (manager), all (admin)."""
    if not _active(user):
        return False
    if user.role == Role.ADMIN:
        return True
    if customer.csm_id is None:
        return False
    if customer.csm_id == user.pk:
        return True
    if user.role == Role.MANAGER:
        return User.objects.managed_by(user).filter(pk=customer.csm_id).exists()
    return False


def can_manage_customer(user: User, customer: Customer) -> bool:
    """Assign/reassign playbooks, send survey campaigns: managers for their teams' customers, admins all."""
    return is_manager_or_admin(user) and can_edit_customer(user, customer)


def can_edit_configuration(user: User) -> bool:
    """Edit the health model, playbooks and triggers."""
    return is_manager_or_admin(user)


def can_ingest(user: User) -> bool:
    """Ingestion API, imports, users and tokens."""
    return is_admin(user)


def can_see_book_of(viewer: User, owner: User) -> bool:
    """Whose Book a user may open: their own; a manager their team members'; an admin anyone's."""
    if not _active(viewer):
        return False
    if viewer.pk == owner.pk or viewer.role == Role.ADMIN:
        return True
    if viewer.role == Role.MANAGER:
        return User.objects.managed_by(viewer).filter(pk=owner.pk).exists()
    return False
