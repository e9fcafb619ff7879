"""HTML screens of accounts: the Book and the customer page (thin: permission, validate, one call, render)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import exports, ui
from core.net import client_ip
from core.panels import customer_panels
from core.ratelimit import allow
from core.validation import query_int

from . import selectors, services
from .dirty import dirty_since
from .edit_forms import BulkEditForm
from .forms import ApiTokenForm, BookFilterForm, PulseForm, TouchpointForm
from .models import ApiToken, Customer
from .saved_views import clean_query, saved_views_for
from .services import pulse_log, touchpoint_log
from .tokens import api_token_create
from .visibility import (
    can_edit_customer,
    can_edit_customer_fields,
    is_manager_or_admin,
)

BOOK_FILTERS = ("q", "csm", "segment", "stage", "renewal", "band")
BOOK_CSV_COLUMNS: list[exports.Column] = [
    ("external_id", lambda c: c.external_id),
    ("customer", lambda c: c.name),
    ("health_score", lambda c: c.health_score),
    ("health_band", lambda c: c.health_band),
    ("health_change_7d", lambda c: c.health_change_7d),
    ("segment", lambda c: c.segment),
    ("csm", lambda c: c.csm.email if c.csm else ""),
    ("lifecycle_stage", lambda c: c.lifecycle_stage),
    ("licenses", lambda c: c.licenses),
    ("renewal_date", lambda c: c.renewal_date),
    ("last_touchpoint_at", lambda c: c.last_touchpoint_at),
    ("latest_pulse_score", lambda c: c.latest_pulse_score),
]


@login_required
@require_GET
def book(request: HttpRequest) -> HttpResponse:
    scope = selectors.book_scope_for(
        viewer=request.user, csm_id=ui.int_param(request, "csm", max_value=2**63 - 1)
    )
    form = BookFilterForm(request.GET, scope=scope, segments=selectors.book_segments(scope))
    sort = form.value("sort") or selectors.BOOK_DEFAULT_SORT
    customers = selectors.book_customers(
        scope=scope,
        q=(form.value("q") or "").strip(),
        segment=form.value("segment") or "",
        stage=form.value("stage") or "",
        renewal_within=form.value("renewal"),
        band=form.value("band") or "",
        sort=sort,
    )
    if exports.wants_csv(request):  # the whole filtered, sorted Book, not one page
        return exports.csv_response(scope.label, BOOK_CSV_COLUMNS, customers.iterator(chunk_size=2000))
    page = ui.paginate(request, customers, per_page=selectors.BOOK_PAGE_SIZE)
    filtered = any(form.value(k) for k in ("q", "segment", "stage", "renewal", "band"))
    context = {
        "form": form,
        "scope": scope,
        "page": page,
        "sort": sort,
        "filtered": filtered,
        "current_query": clean_query(request.GET.urlencode()),  # what "Save this view" saves
    }
    if not ui.is_partial(request):  # the saved views menu (docs/workspace.md#saved-views): one query
        context["saved_views"] = list(saved_views_for(request.user))
    if is_manager_or_admin(request.user):  # bulk edit; accounts.editing checks each customer
        context["can_bulk_edit"] = True
        context["bulk_filters"] = [(k, request.GET[k]) for k in BOOK_FILTERS if request.GET.get(k)]
        if not ui.is_partial(request):
            # The CSM picker's people (already read) and oneself: no query of its own; the service checks.
            people = [*scope.choices, *([] if request.user in scope.choices else [request.user])]
            context["bulk_form"] = BulkEditForm(csms=people)
    return ui.render_page(request, "accounts/book.html", context, partial="rows")


def _customer_context(request: HttpRequest, customer: Customer, **forms) -> dict:
    can_edit = can_edit_customer(request.user, customer)
    context = {
        "customer": customer,
        "can_edit": can_edit,
        "can_edit_fields": can_edit_customer_fields(request.user, customer),
        "timeline": selectors.customer_timeline(customer, limit=_timeline_shown(request)),
        "contacts": list(customer.contacts.all()),
        **_panels_context(request, customer),
    }
    if can_edit:
        context["touchpoint_form"] = forms.get("touchpoint_form") or TouchpointForm(customer=customer)
        context["pulse_form"] = forms.get("pulse_form") or PulseForm()
    return context


def _timeline_shown(request: HttpRequest) -> int:
    """Without JavaScript, "Show older activity" reloads the page with ?timeline=N pages of entries."""
    pages = min(max(ui.int_param(request, "timeline") or 1, 1), 40)
    return pages * selectors.TIMELINE_PAGE_SIZE


@login_required
@require_GET
def customer_timeline(request: HttpRequest, external_id: str) -> HttpResponse:
    """The next timeline slice for htmx's "Show older activity" (the link falls back to ?timeline=N)."""
    customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
    # Sent by the page's own "Show older activity" link: anything else is a 400 naming it.
    offset = query_int(request.GET, "offset", default=0, max_value=100_000)
    context = {"customer": customer, "timeline": selectors.customer_timeline(customer, offset=offset)}
    return render(request, "accounts/customer_detail.html#timeline_entries", context)


@login_required
@require_GET
def customer_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
    if ui.is_partial(request) and request.GET.get("part") == "panels":  # the panels reloading themselves
        context = {"customer": customer, **_panels_context(request, customer)}
        response = render(request, "accounts/customer_detail.html#panels", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    return render(request, "accounts/customer_detail.html", _customer_context(request, customer))


def _panels_context(request: HttpRequest, customer: Customer) -> dict:
    return {
        "panels": customer_panels(customer=customer, user=request.user),
        # docs/health.md#live-data: a change waits for the live recompute; the panels reload until it is done.
        "updating": dirty_since(customer_id=customer.pk) is not None,
    }


def _log_activity(request: HttpRequest, external_id: str, *, kind: str, make_form, save) -> HttpResponse:
    """Shared flow of the two logging forms: permission, validate, service, then answer htmx or redirect."""
    customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
    if not can_edit_customer(request.user, customer):
        raise PermissionDenied("You can only log activity on customers in your book.")
    form = make_form(customer, request.POST)
    if form.is_valid():
        try:
            item = save(customer, form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)  # a dict of field errors lands on the fields
        else:
            label = kind.capitalize()
            if not ui.is_partial(request):
                messages.success(request, f"{label} logged.")
                return redirect(customer)
            # Re-read for the snapshot's fresh "last touchpoint / latest pulse".
            customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
            context = {
                "customer": customer,
                "can_edit": True,
                f"{kind}_form": make_form(customer, None),
                "new_entry": selectors.TimelineEntry(kind, timezone.now(), item),
                "saved": f"{label} logged and added to the timeline.",
                **_panels_context(request, customer),  # health as it is now (out of band)
            }
            return render(request, f"accounts/customer_detail.html#{kind}_logged", context)
    # Invalid: the form comes back with its inline errors as a 200, like any Django form view. (A 422 would
    # also be swapped, see base.html, but browsers log every 4xx as a console error.)
    if ui.is_partial(request):
        context = {"customer": customer, "can_edit": True, f"{kind}_form": form}
        return render(request, f"accounts/customer_detail.html#{kind}_form", context)
    context = _customer_context(request, customer, **{f"{kind}_form": form})
    return render(request, "accounts/customer_detail.html", context)


@login_required
@require_POST
def touchpoint_create(request: HttpRequest, external_id: str) -> HttpResponse:
    return _log_activity(
        request,
        external_id,
        kind="touchpoint",
        make_form=lambda customer, data: TouchpointForm(data, customer=customer),
        save=lambda customer, data: touchpoint_log(user=request.user, customer=customer, **data),
    )


@login_required
@require_POST
def pulse_create(request: HttpRequest, external_id: str) -> HttpResponse:
    return _log_activity(
        request,
        external_id,
        kind="pulse",
        make_form=lambda customer, data: PulseForm(data),
        save=lambda customer, data: pulse_log(user=request.user, customer=customer, **data),
    )


# --- Password reset ----------------------------------------------------------------------------------------

PASSWORD_RESET_LIMIT = 5  # requests per client address per hour: enough for typos, not for mail bombing


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by email, with links built on SITE_URL (not the request's Host header) and a limit per
    client address (docs/operations.md#accounts)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not allow(f"password-reset:{client_ip(request)}", limit=PASSWORD_RESET_LIMIT, window=3600):
            return render(
                request,
                "registration/message_page.html",
                {"title": "Too many requests", "message": "Please wait an hour before asking again."},
                status=429,
            )
        return super().post(request, *args, **kwargs)

    @property
    def extra_email_context(self) -> dict:  # read by form_valid
        return {"site_url": settings.SITE_URL}


# --- API tokens --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Everyone's own API tokens (admins: everyone's): create one (its key shown this once), see when each
    was last used, revoke (docs/api.md#authentication)."""
    form = ApiTokenForm(request.POST or None)
    created_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            expires_at = timezone.now() + dt.timedelta(days=days) if days else None
            _, created_key = api_token_create(
                user=request.user, name=form.cleaned_data["name"], expires_at=expires_at
            )
            form = ApiTokenForm()
        else:
            status = 400
    context = {
        "form": form,
        "created_key": created_key,
        "tokens": selectors.api_tokens_for(user=request.user),
        "now": timezone.now(),
    }
    response = render(request, "accounts/api_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may hold a new key
    return response


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    try:
        services.api_token_revoke(user=request.user, token=token)
    except PermissionDenied:
        raise Http404("No such token.") from None
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("api_tokens")
