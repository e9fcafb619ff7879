"""Services of the users and teams pages (docs/workspace.md#users-and-teams): invite by email with a
set-password link, change role and teams, deactivate and reactivate; create and edit teams. Admins only
(accounts.visibility.can_manage_people); every change is audited in its transaction."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import audit
from .enqueue import user_invite_email_on_commit
from .models import Role, Team, User
from .visibility import can_manage_people, is_manager_or_admin

USER_FIELDS = ("email", "full_name", "role", "is_active")
TEAM_FIELDS = ("name", "manager")
DENIED = "Only admins manage users and teams."


def _require_admin(actor: User) -> None:
    if not can_manage_people(actor):
        raise PermissionDenied(DENIED)


def _team_names(user: User) -> list[str]:
    return sorted(user.teams.values_list("name", flat=True))


@transaction.atomic
def user_invite(
    *, actor: User, email: str, role: str, full_name: str = "", teams: Sequence[Team] = ()
) -> User:
    """A new user without a password, emailed a link to choose one (Django's password-reset token)."""
    _require_admin(actor)
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role from the list."})
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists."})
    user = User.objects.create_user(email=email, password=None, role=role, full_name=full_name.strip())
    user.teams.set(teams)
    entry = audit.record_create(actor=actor, obj=user, fields=USER_FIELDS)
    if teams:
        entry.changes["teams"] = {"before": None, "after": _team_names(user)}
        entry.save(update_fields=["changes"])
    user_invite_email_on_commit(user_id=user.pk)
    return user


def invitation_link(user: User) -> str:
    """The set-password link of `user` (works once, for settings.PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def user_invite_email(*, user_id: int) -> bool:
    """Send the invitation (the task's body): nothing for a user gone, deactivated or with a password."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.has_usable_password():
        return False
    context = {"user": user, "link": invitation_link(user), "company": settings.CSHUB_COMPANY_NAME}
    send_mail(
        subject=f"You're invited to cshub ({settings.CSHUB_COMPANY_NAME})",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
    return True


@transaction.atomic
def user_update(
    *, actor: User, user: User, role: str, full_name: str, teams: Sequence[Team] | None = None
) -> None:
    """Change a user's name, role and team memberships."""
    _require_admin(actor)
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role from the list."})
    if user.pk == actor.pk and role != Role.ADMIN:
        raise ValidationError({"role": "You cannot take away your own admin role."})
    before = {**audit.snapshot(user, USER_FIELDS), "teams": _team_names(user)}
    user.role, user.full_name = role, full_name.strip()
    user.is_staff = role == Role.ADMIN or user.is_superuser
    user.save(update_fields=["role", "full_name", "is_staff"])
    if teams is not None:
        user.teams.set(teams)
    after = {**audit.snapshot(user, USER_FIELDS), "teams": _team_names(user)}
    changes = audit.diff(before, after)
    if changes:
        audit.record(actor=actor, action="update", obj=user, changes=changes)


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> None:
    """Deactivate (or reactivate) a user. A deactivated user cannot sign in and has no rights; their customers
    read as unassigned and new playbook work goes to the fallback assignee (playbooks.assignment)."""
    _require_admin(actor)
    if user.pk == actor.pk and not active:
        raise ValidationError("You cannot deactivate yourself.")
    if user.is_active == active:
        return
    before = audit.snapshot(user, ["is_active"])
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record_update(actor=actor, obj=user, before=before)


@transaction.atomic
def team_save(
    *, actor: User, name: str, manager: User | None, members: Sequence[User], team: Team | None = None
) -> Team:
    """Create a team, or rename it and change its manager and members."""
    _require_admin(actor)
    name = name.strip()
    taken = Team.objects.filter(name__iexact=name)
    if team is not None:
        taken = taken.exclude(pk=team.pk)
    if not name or taken.exists():
        raise ValidationError({"name": "Another team has this name." if name else "Name the team."})
    if manager is not None and not is_manager_or_admin(manager):
        raise ValidationError({"manager": "The manager must be an active manager or admin."})
    members_sorted = sorted(u.pk for u in members)
    if team is None:
        team = Team.objects.create(name=name, manager=manager)
        team.members.set(members)
        entry = audit.record_create(actor=actor, obj=team, fields=TEAM_FIELDS)
        entry.changes["members"] = {"before": None, "after": members_sorted}
        entry.save(update_fields=["changes"])
        return team
    before = {
        **audit.snapshot(team, TEAM_FIELDS),
        "members": sorted(team.members.values_list("pk", flat=True)),
    }
    team.name, team.manager = name, manager
    team.save(update_fields=["name", "manager"])
    team.members.set(members)
    changes = audit.diff(before, {**audit.snapshot(team, TEAM_FIELDS), "members": members_sorted})
    if changes:
        audit.record(actor=actor, action="update", obj=team, changes=changes)
    return team
