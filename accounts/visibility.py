"""Who may see or change what (docs/architecture.md#roles-and-permissions), in one module.

Every view, selector, service and API asks these functions; nothing else compares `user.role`. Templates use
them only to hide what a service would refuse anyway.

The scopes, from narrow to wide:
- a CSM's book is their own customers;
- a manager's scope is the book of every member of the teams they manage, plus customers they own themselves;
- an admin's scope is everything.
Anonymous and deactivated users have no scope at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from .models import Customer, CustomerQuerySet, Role, User, UserQuerySet


def is_signed_in(user: User) -> bool:
    """An authenticated, active user (a deactivated account keeps its session but has no rights)."""
    return bool(user and user.is_authenticated and user.is_active)


def is_admin(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.ADMIN


def is_manager(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.MANAGER


def is_csm(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.CSM


def is_manager_or_admin(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


# --- Whose people ------------------------------------------------------------------------------------------


def team_members(manager: User) -> UserQuerySet:
    """Members of the teams `manager` manages ("their teams"), whatever their role or state."""
    return User.objects.filter(teams__manager=manager).distinct()


def team_member_ids(manager: User) -> UserQuerySet:
    """The same as a subquery of primary keys (no join through teams in the outer query, no DISTINCT)."""
    return User.objects.filter(teams__manager=manager).values("pk")


def visible_csms(user: User) -> UserQuerySet:
    """The CSMs whose rows a team view shows: a manager their teams' active CSMs, an admin every active
    CSM. CSMs have no team view: PermissionDenied."""
    if is_admin(user):
        return User.objects.csms()
    if is_manager(user):
        return team_members(user).filter(role=Role.CSM, is_active=True)
    raise PermissionDenied("Team performance is for managers and admins.")


def book_owners(user: User) -> UserQuerySet:
    """The people whose Book `user` may pick from the Book's CSM picker: a manager their active team members,
    an admin every active CSM, a CSM nobody else (their own book needs no picking)."""
    if is_admin(user):
        return User.objects.csms()
    if is_manager(user):
        return team_members(user).filter(is_active=True)
    return User.objects.none()


def scope_csm_ids(user: User) -> tuple[int, ...] | None:
    """The CSM ids whose customers make up `user`'s scope, for raw SQL: None means everyone (admins);
    a manager's are their team members and themselves; a CSM's only their own."""
    if not is_signed_in(user):
        raise PermissionDenied
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.MANAGER:
        ids = User.objects.filter(teams__manager=user).values_list("pk", flat=True)
        return tuple(sorted({*ids, user.pk}))
    return (user.pk,)


def scope_label(user: User) -> str:
    """How a page names `user`'s whole scope."""
    if is_admin(user):
        return "All customers"
    if is_manager(user):
        return "Your teams"
    return "Your book"


def can_see_book_of(viewer: User, owner: User) -> bool:
    """Whose Book a user may open: their own; a manager their team members'; an admin anyone's."""
    if not is_signed_in(viewer):
        return False
    if viewer.pk == owner.pk or viewer.role == Role.ADMIN:
        return True
    if viewer.role == Role.MANAGER:
        return team_members(viewer).filter(pk=owner.pk).exists()
    return False


# --- Whose customers ---------------------------------------------------------------------------------------


def editable_customers(user: User, queryset: CustomerQuerySet | None = None) -> CustomerQuerySet:
    """The customers `user` is responsible for: own (CSM), teams' and own (manager), all (admin).

    They may log touchpoints and pulses on them; managers and admins also assign playbooks and send surveys
    to them (can_manage_customer). `queryset` narrows a queryset the caller already has."""
    qs = Customer.objects.all() if queryset is None else queryset
    if not is_signed_in(user):
        return qs.none()
    if user.role == Role.ADMIN:
        return qs
    if user.role == Role.MANAGER:
        # A subquery, not a join through teams: no duplicates, no DISTINCT, one query.
        return qs.filter(Q(csm__in=team_member_ids(user)) | Q(csm=user))
    return qs.filter(csm=user)


def can_edit_customer(user: User, customer: Customer) -> bool:
    """Log touchpoints/pulses, edit details: own customers (CSM), teams' customers (manager), all (admin)."""
    if not is_signed_in(user):
        return False
    if user.role == Role.ADMIN:
        return True
    if customer.csm_id is None:
        return False
    if customer.csm_id == user.pk:
        return True
    if user.role == Role.MANAGER:
        return team_members(user).filter(pk=customer.csm_id).exists()
    return False


def can_manage_customer(user: User, customer: Customer) -> bool:
    """Assign/reassign playbooks, send survey campaigns: managers for their teams' customers, admins all."""
    return is_manager_or_admin(user) and can_edit_customer(user, customer)


def check_can_manage(*, user: User, customers: Sequence[Customer], action: str, verb: str) -> None:
    """Raise PermissionDenied unless `user` may manage every one of `customers` (can_manage_customer, one
    query): "Only managers and admins can {action}." / "You can only {verb} your teams' customers (not …)"."""
    if not is_manager_or_admin(user):
        raise PermissionDenied(f"Only managers and admins can {action}.")
    if user.role == Role.ADMIN:
        return
    allowed = set(
        editable_customers(user).filter(pk__in=[c.pk for c in customers]).values_list("pk", flat=True)
    )
    outside = [c for c in customers if c.pk not in allowed]
    if outside:
        names = ", ".join(c.name for c in outside[:5])
        raise PermissionDenied(f"You can only {verb} your teams' customers (not {names}).")


def can_work_for(user: User, *, assignee_id: int | None, customer: Customer) -> bool:
    """Work (complete, skip) what is assigned to `assignee_id` on `customer`: the assignee; a manager
    their teams' work, or work on their teams' customers; an admin all."""
    if not is_signed_in(user):
        return False
    if user.role == Role.ADMIN or assignee_id == user.pk:
        return True
    if user.role == Role.MANAGER:
        if assignee_id and team_members(user).filter(pk=assignee_id).exists():
            return True
        return can_edit_customer(user, customer)
    return False


# --- Whose logs (touchpoints, pulses, notes) ---------------------------------------------------------------


def log_author_scope(user: User) -> frozenset[int] | None:
    """The authors whose touchpoints, pulses and notes `user` may edit or delete, for checking many entries
    with one query: None means every author (admins); a manager themselves and their teams' members; a CSM
    only themselves; nobody for anonymous or deactivated users. A log whose author is gone is admins' only."""
    if not is_signed_in(user):
        return frozenset()
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.MANAGER:
        return frozenset({user.pk, *team_member_ids(user).values_list("pk", flat=True)})
    return frozenset({user.pk})


def may_edit_log_by(scope: frozenset[int] | None, author_id: int | None) -> bool:
    """Whether a log by `author_id` is in a `log_author_scope`."""
    return scope is None or (author_id is not None and author_id in scope)


def can_edit_log(user: User, log: Any) -> bool:
    """Edit or delete a touchpoint, pulse or note (anything with `author_id`): the author; a manager their
    teams' members' logs; an admin all (docs/architecture.md#roles-and-permissions)."""
    if not is_signed_in(user):
        return False
    if user.role == Role.ADMIN or (log.author_id is not None and log.author_id == user.pk):
        return True
    if user.role == Role.MANAGER and log.author_id is not None:
        return team_members(user).filter(pk=log.author_id).exists()
    return False


# --- Configuration and data in -----------------------------------------------------------------------------


def can_manage_tokens_of(user: User, owner: User) -> bool:
    """API tokens: everyone their own; admins everyone's (to revoke a leaked one)."""
    return is_signed_in(user) and (user.pk == owner.pk or is_admin(user))


def can_edit_configuration(user: User) -> bool:
    """Edit the health model, playbooks and triggers; start playbooks; send campaigns."""
    return is_manager_or_admin(user)


def can_run_backtest(user: User) -> bool:
    """Run the health backtest (start or refresh a job): managers and admins."""
    return is_manager_or_admin(user)


def can_view_backtest(user: User) -> bool:
    """Read a backtest already computed: every signed-in user (CSMs may view the backtest)."""
    return is_signed_in(user)


def can_ingest(user: User) -> bool:
    """Ingestion API, imports, users and tokens."""
    return is_admin(user)


class IsAdminRole(permissions.BasePermission):
    """The API's form of can_ingest: ingestion, imports, users and tokens are for admins only."""

    message = "Only admins may use the ingestion API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_ingest(request.user)


def can_manage_integrations(user: User) -> bool:
    """The Integrations page, outbound webhooks and Slack settings: admins only."""
    return is_admin(user)


# --- The workspace: editing in the app, people, tasks (docs/workspace.md) ----------------------------------


def field_editable_customers(user: User, queryset: CustomerQuerySet | None = None) -> CustomerQuerySet:
    """The customers whose fields (CSM, renewal date, stage, licenses, segment) and contacts `user` may edit:
    a manager their teams' customers (and their own), an admin all, a CSM none."""
    qs = Customer.objects.all() if queryset is None else queryset
    if not is_manager_or_admin(user):
        return qs.none()
    return editable_customers(user, qs)


def can_edit_customer_fields(user: User, customer: Customer) -> bool:
    """Edit a customer's fields and contacts (docs/workspace.md#editing-in-the-app)."""
    return can_manage_customer(user, customer)


def assignable_csms(user: User) -> UserQuerySet:
    """Whom `user` may make a customer's CSM: an admin any active CSM or manager; a manager their active team
    members and themselves; a CSM nobody."""
    if is_admin(user):
        return User.objects.filter(is_active=True, role__in=[Role.CSM, Role.MANAGER])
    if is_manager(user):
        return User.objects.filter(Q(pk__in=team_member_ids(user)) | Q(pk=user.pk), is_active=True)
    return User.objects.none()


def can_manage_people(user: User) -> bool:
    """The users and teams pages: invite, change role and team, deactivate; create and edit teams."""
    return is_admin(user)


def teammate_ids(user: User) -> UserQuerySet:
    """Members of the teams `user` belongs to, as a subquery of primary keys."""
    return User.objects.filter(teams__members=user).values("pk")


def task_assignees(user: User) -> UserQuerySet:
    """To whom `user` may assign or reassign a task: a CSM to themselves or another active CSM of their
    team; a manager anyone active in their teams, or themselves; an admin any active user."""
    if not is_signed_in(user):
        return User.objects.none()
    if user.role == Role.ADMIN:
        return User.objects.filter(is_active=True)
    if user.role == Role.MANAGER:
        return User.objects.filter(Q(pk__in=team_member_ids(user)) | Q(pk=user.pk), is_active=True)
    return User.objects.filter(Q(pk=user.pk) | Q(pk__in=teammate_ids(user), role=Role.CSM), is_active=True)


def can_assign_task_to(user: User, assignee: User) -> bool:
    return task_assignees(user).filter(pk=assignee.pk).exists()
