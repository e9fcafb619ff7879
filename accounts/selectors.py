"""Reads that span models for the accounts screens (the Book and the customer timeline), and the readings
other apps take from accounts (the health factors)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber, TruncDate
from django.http import Http404
from django.utils import timezone

from core import timeline

from .models import ApiToken, Customer, Pulse, Touchpoint, User
from .visibility import (
    book_owners,
    can_see_book_of,
    editable_customers,
    is_admin,
    is_csm,
    log_author_scope,
    may_edit_log_by,
)

BOOK_PAGE_SIZE = 50
RENEWAL_WINDOWS = (30, 90, 180)

# Sort keys accepted in ?sort= (prefix "-" for descending). Nulls always sort last: "no touchpoint yet"
# is neither the most nor the least recent, and a CSM scanning by date wants the real dates first.
BOOK_SORTS: dict[str, str] = {
    "name": "name",
    "renewal": "renewal_date",
    "last_touch": "last_touchpoint_at",
    "pulse": "latest_pulse_score",
    "health": "health_score",
    "health_change": "health_change_7d",
}
# ?band= values: the health bands, plus customers with no score yet ("not enough data" or never computed).
HEALTH_BANDS = (("red", "Red"), ("yellow", "Yellow"), ("green", "Green"), ("none", "No score"))
BOOK_DEFAULT_SORT = "renewal"


@dataclass(frozen=True)
class BookScope:
    """Whose customers a Book shows: one CSM's (`owner`) or the viewer's whole book (`owner is None`)."""

    viewer: User
    owner: User | None
    choices: list[User]  # CSMs the viewer may pick (empty for a CSM: they only have their own book)

    @property
    def everyone_label(self) -> str:
        """The viewer's whole scope, as the picker names it."""
        return "All customers" if is_admin(self.viewer) else "Whole team"

    @property
    def label(self) -> str:
        if self.owner is not None:
            return "Your book" if self.owner.pk == self.viewer.pk else f"{self.owner.get_full_name()}'s book"
        return self.everyone_label

    def customers(self) -> QuerySet[Customer]:
        if self.owner is None:
            return editable_customers(self.viewer)
        return Customer.objects.filter(csm=self.owner)


def book_scope_for(*, viewer: User, csm_id: int | None) -> BookScope:
    """Resolve the ?csm= picker. A CSM's book is their own; asking for anyone else's is a 403 (never data)."""
    choices = list(book_owners(viewer).only("pk", "email", "full_name"))
    if csm_id is None:
        owner = viewer if is_csm(viewer) else None
        return BookScope(viewer=viewer, owner=owner, choices=choices)
    owner = next((u for u in choices if u.pk == csm_id), None)
    if owner is None:
        if csm_id == viewer.pk:
            owner = viewer
        else:
            owner = User.objects.filter(pk=csm_id).first()
            if owner is None:
                raise Http404("No such CSM.")
    if not can_see_book_of(viewer, owner):
        raise PermissionDenied("You can only open your own book or the books of your team members.")
    return BookScope(viewer=viewer, owner=owner, choices=choices)


def with_activity(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """Annotate last touchpoint and latest pulse with correlated subqueries: one query, no N+1."""
    touchpoints = Touchpoint.objects.filter(customer=OuterRef("pk")).order_by("-occurred_at", "-id")
    pulses = Pulse.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-id")
    return qs.annotate(
        last_touchpoint_at=Subquery(touchpoints.values("occurred_at")[:1]),
        last_touchpoint_kind=Subquery(touchpoints.values("kind")[:1]),
        latest_pulse_score=Subquery(pulses.values("score")[:1]),
        latest_pulse_at=Subquery(pulses.values("created_at")[:1]),
    )


def book_customers(
    *,
    scope: BookScope,
    q: str = "",
    segment: str = "",
    stage: str = "",
    renewal_within: int | None = None,
    band: str = "",
    sort: str = BOOK_DEFAULT_SORT,
    today: dt.date | None = None,
) -> QuerySet[Customer]:
    """The Book: the scope's customers, searched, filtered and sorted, with activity annotations."""
    qs = scope.customers().select_related("csm")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(external_id__icontains=q))
    if segment:
        qs = qs.filter(segment=segment)
    if stage:
        qs = qs.filter(lifecycle_stage=stage)
    if band == "none":
        qs = qs.filter(health_band="")
    elif band:
        qs = qs.filter(health_band=band)
    if renewal_within:
        today = today or timezone.localdate()
        qs = qs.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=renewal_within))
    qs = with_activity(qs)
    descending = sort.startswith("-")
    field = BOOK_SORTS.get(sort.lstrip("-"), BOOK_SORTS[BOOK_DEFAULT_SORT])
    expr = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return qs.order_by(expr, "name", "pk")


def book_segments(scope: BookScope) -> list[str]:
    """Segments present in the scope, for the filter's choices (one query)."""
    return list(
        scope.customers().exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct()
    )


@dataclass(frozen=True)
class TimelineItem:
    entry: timeline.Entry
    can_change: bool  # the viewer may edit or delete it (a log in their log_author_scope)
    contacts: tuple[str, ...] = ()  # a touchpoint's contacts involved, by name


@dataclass(frozen=True)
class CustomerTimeline:
    items: list[TimelineItem]
    next_cursor: str | None
    kinds: list[str]  # the kinds filtered on; empty: all


def customer_timeline(
    *, user: User, customer: Customer, kinds: Sequence[str] = (), before: str | None = None
) -> CustomerTimeline:
    """A page of the customer's timeline for `user`, each entry marked editable or not: one query for the
    page (core.timeline), one for the touchpoints' contacts and one for a manager's team
    (log_author_scope), whatever the number of kinds."""
    page = timeline.timeline_page(customer.pk, kinds=kinds or None, before=before)
    return CustomerTimeline(items=_items(user, page.entries), next_cursor=page.next_cursor, kinds=list(kinds))


def timeline_item(*, user: User, customer: Customer, kind: str, ref: int) -> TimelineItem | None:
    entry = timeline.timeline_entry(customer.pk, kind=kind, ref=ref)
    return _items(user, [entry])[0] if entry else None


def _items(user: User, entries: list[timeline.Entry]) -> list[TimelineItem]:
    scope = log_author_scope(user) if any(e.editable for e in entries) else frozenset()
    touchpoint_ids = [e.ref for e in entries if e.kind == "touchpoint"]
    contacts: dict[int, list[str]] = {}
    if touchpoint_ids:
        links = (
            Touchpoint.contacts.through.objects.filter(touchpoint_id__in=touchpoint_ids)
            .order_by("contact__name", "contact__email")
            .values_list("touchpoint_id", "contact__name", "contact__email")
        )
        for touchpoint_id, name, email in links:
            contacts.setdefault(touchpoint_id, []).append(name or email)
    return [
        TimelineItem(
            e,
            e.editable and may_edit_log_by(scope, e.actor_id),
            tuple(contacts.get(e.ref, ())) if e.kind == "touchpoint" else (),
        )
        for e in entries
    ]


def customer_for_viewer(*, user: User, external_id: str) -> Customer:
    """Any signed-in user may read any customer (docs/architecture.md#roles-and-permissions); 404 if it does
    not exist."""
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied
    customer = with_activity(Customer.objects.select_related("csm")).filter(external_id=external_id).first()
    if customer is None:
        raise Http404("No customer with this ID.")
    return customer


# --- Readings for the health factors (docs/health.md: factors read other apps through their selectors) ------


def for_customers(customer_ids: Iterable[int], field: str = "customer_id") -> tuple[Q, set[int]]:
    """A filter on `customer_ids` and the set to keep from its rows. When the ids fill most of their range (a
    chunk of the nightly recompute), the range: an index range scan instead of thousands of bound
    parameters; the caller drops the few other customers inside it."""
    wanted = set(customer_ids)
    if wanted and max(wanted) - min(wanted) < 2 * len(wanted):
        return Q(**{f"{field}__gte": min(wanted), f"{field}__lte": max(wanted)}), wanted
    return Q(**{f"{field}__in": sorted(wanted)}), wanted


def latest_pulse_by_customer(
    *, customer_ids: Iterable[int], since: dt.datetime, until: dt.datetime
) -> dict[int, tuple[int, dt.date]]:
    """Each customer's latest pulse created in [since, until): (score, its local date in TIME_ZONE).
    Customers without one are absent."""
    customers, wanted = for_customers(customer_ids)
    rows = (
        Pulse.objects.filter(customers, created_at__gte=since, created_at__lt=until)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .annotate(on=TruncDate("created_at"))  # the local date, converted in SQL
        .values_list("customer_id", "score", "on")
    )
    return {cid: (score, on) for cid, score, on in rows if cid in wanted}


def last_touchpoint_day_by_customer(*, customer_ids: Iterable[int], until: dt.datetime) -> dict[int, dt.date]:
    """The local date (TIME_ZONE) of each customer's latest touchpoint before `until`; absent if none."""
    customers, wanted = for_customers(customer_ids)
    rows = (
        Touchpoint.objects.filter(customers, occurred_at__lt=until)
        .values("customer_id")
        .annotate(last=TruncDate(Max("occurred_at")))
        .values_list("customer_id", "last")
        .order_by()
    )
    return {cid: last for cid, last in rows if cid in wanted}


def licenses_by_customer(*, customer_ids: Iterable[int]) -> dict[int, int]:
    """Licensed seats of the customers that have any (customers without licenses are absent)."""
    customers, wanted = for_customers(customer_ids, "pk")
    rows = Customer.objects.filter(customers, licenses__gt=0).values_list("pk", "licenses").order_by()
    return {pk: seats for pk, seats in rows if pk in wanted}


def contract_start_by_customer(*, customer_ids: Iterable[int]) -> dict[int, dt.date | None]:
    """Each customer's contract_start (None when empty), for all of `customer_ids`."""
    customers, wanted = for_customers(customer_ids, "pk")
    rows = Customer.objects.filter(customers).values_list("pk", "contract_start").order_by()
    return {pk: start for pk, start in rows if pk in wanted}


def any_pulse_between(*, since: dt.datetime, until: dt.datetime) -> bool:
    """Whether any customer got a pulse in [since, until) (is the pulse a live source for health?)."""
    return Pulse.objects.filter(created_at__gte=since, created_at__lt=until).exists()


def any_touchpoint_between(*, since: dt.datetime, until: dt.datetime) -> bool:
    """Whether any touchpoint was logged in [since, until) (is engagement a live source for health?)."""
    return Touchpoint.objects.filter(occurred_at__gte=since, occurred_at__lt=until).exists()


def any_customer_with_licenses() -> bool:
    """Whether the install records licenses for any customer (is license utilization a live source?)."""
    return Customer.objects.filter(licenses__gt=0).exists()


def api_tokens_for(*, user: User) -> QuerySet[ApiToken]:
    """The API tokens `user` may see and revoke: their own; an admin everyone's
    (docs/api.md#authentication)."""
    tokens = ApiToken.objects.select_related("user").order_by("revoked_at", "-created_at", "-id")
    return tokens if is_admin(user) else tokens.filter(user=user)
