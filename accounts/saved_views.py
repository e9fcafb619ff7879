"""Saved views of the Book (docs/workspace.md#saved-views): a filter saved by name, the owner's own or shared
with their teams. Services (create, delete: the owner only) and the selector of the views a user sees."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from .models import SavedView, Team, User
from .visibility import is_signed_in

# The Book's parameters a view keeps (accounts.views.book); anything else in a query string is dropped.
VIEW_PARAMS = ("q", "csm", "segment", "stage", "renewal", "band", "sort")
NAME_MAX = 100


def clean_query(query: str) -> str:
    """The Book parameters of `query`, in a fixed order, without empty values."""
    pairs = dict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
    return urlencode([(k, pairs[k][:200]) for k in VIEW_PARAMS if pairs.get(k)])


def _team_ids(user: User) -> QuerySet[Team]:
    return Team.objects.filter(Q(members=user) | Q(manager=user)).values("pk")


def saved_views_for(user: User) -> QuerySet[SavedView]:
    """The user's own views and the shared views of people in a team with them (as member or manager): one
    query."""
    if not is_signed_in(user):
        return SavedView.objects.none()
    teams = _team_ids(user)
    teammates = User.objects.filter(Q(teams__in=teams) | Q(managed_teams__in=teams)).values("pk")
    return (
        SavedView.objects.filter(Q(owner=user) | Q(shared=True, owner__in=teammates, owner__is_active=True))
        .select_related("owner")
        .order_by("name", "pk")
    )


@transaction.atomic
def saved_view_create(*, owner: User, name: str, query: str, shared: bool = False) -> SavedView:
    """Save the Book's current filter under `name` (unique among the owner's views)."""
    if not is_signed_in(owner):
        raise PermissionDenied
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the view."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Keep the name under {NAME_MAX} characters."})
    try:
        with transaction.atomic():
            return SavedView.objects.create(owner=owner, name=name, query=clean_query(query), shared=shared)
    except IntegrityError:
        raise ValidationError({"name": "You already have a view with this name."}) from None


def saved_view_delete(*, user: User, view: SavedView) -> None:
    """Only the owner deletes a view (a shared one too)."""
    if view.owner_id != user.pk:
        raise PermissionDenied("Only the owner of a view can delete it.")
    view.delete()
