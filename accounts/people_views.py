"""The users and teams pages (docs/workspace.md#users-and-teams): admins only, others 403. Thin: permission,
validate, one service call (accounts.people), render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import people
from .edit_forms import InviteForm, TeamForm, UserEditForm
from .models import Team, User
from .visibility import can_manage_people


def _require_admin(request: HttpRequest) -> None:
    if not can_manage_people(request.user):
        raise PermissionDenied(people.DENIED)


def _save(form, call) -> bool:
    """Call the service when the form is valid; its ValidationError lands on the form."""
    if not form.is_valid():
        return False
    try:
        call(form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    """Every user with role, teams and state; the invite form."""
    _require_admin(request)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and _save(form, lambda d: people.user_invite(actor=request.user, **d)):
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
        return redirect("people_users")
    rows = User.objects.prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name"))).annotate(
        customers_count=Count("customers", distinct=True)
    )
    status = 400 if form.errors else 200
    return render(request, "accounts/people_users.html", {"form": form, "users": rows}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    person = get_object_or_404(User, pk=pk)
    initial = {"full_name": person.full_name, "role": person.role, "teams": list(person.teams.all())}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and _save(
        form, lambda d: people.user_update(actor=request.user, user=person, **d)
    ):
        messages.success(request, f"{person.get_full_name()} saved.")
        return redirect("people_users")
    status = 400 if form.errors else 200
    return render(request, "accounts/people_user.html", {"form": form, "person": person}, status=status)


@login_required
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    """POST active=0 deactivates, active=1 reactivates."""
    _require_admin(request)
    person = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        people.user_set_active(actor=request.user, user=person, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("people_users")
    messages.success(request, f"{person.get_full_name()} {'reactivated' if active else 'deactivated'}.")
    return redirect("people_users")


@login_required
@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and _save(form, lambda d: people.team_save(actor=request.user, **d)):
        messages.success(request, f"Team {form.cleaned_data['name']} created.")
        return redirect("people_teams")
    rows = Team.objects.select_related("manager").annotate(members_count=Count("members")).order_by("name")
    status = 400 if form.errors else 200
    return render(request, "accounts/people_teams.html", {"form": form, "teams": rows}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    team = get_object_or_404(Team, pk=pk)
    initial = {"name": team.name, "manager": team.manager_id, "members": list(team.members.all())}
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and _save(
        form, lambda d: people.team_save(actor=request.user, team=team, **d)
    ):
        messages.success(request, f"Team {team.name} saved.")
        return redirect("people_teams")
    status = 400 if form.errors else 200
    return render(request, "accounts/people_team.html", {"form": form, "team": team}, status=status)
