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

from core import exports, timeline, ui
from core.net import client_ip
from core.panels import book_notes, customer_panels
from core.ratelimit import allow
from core.validation import BadQuery

from . import search, selectors, services
from .audit import entries_for_customer
from .auditlog import audit_rows
from .dirty import dirty_since
from .edit_forms import BulkEditForm
from .forms import ApiTokenForm, BookFilterForm, NoteForm, PulseForm, TouchpointEditForm, TouchpointForm
from .models import ApiToken, Customer, Note, Pulse, Touchpoint
from .saved_views import clean_query, saved_views_for
from .services import pulse_log, touchpoint_log
from .tokens import api_token_create
from .visibility import can_edit_customer, can_edit_customer_fields, can_edit_log, is_manager_or_admin

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
    rows = list(page.object_list)  # evaluated once: the template iterates the same cached rows
    notes = book_notes(customers=rows)
    for c in rows:
        c.book_note = notes.get(c.pk)
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
        **_timeline_context(request, customer),
        "can_edit_fields": can_edit_customer_fields(request.user, customer),
        "contacts": list(customer.contacts.all()),
        "audit_rows": audit_rows(entries_for_customer(customer, limit=AUDIT_PANEL_SIZE)),
        **_panels_context(request, customer),
    }
    if can_edit:
        context["touchpoint_form"] = forms.get("touchpoint_form") or TouchpointForm(customer=customer)
        context["pulse_form"] = forms.get("pulse_form") or PulseForm()
        context["note_form"] = forms.get("note_form") or NoteForm()
    return context


AUDIT_PANEL_SIZE = 30


def _timeline_context(request: HttpRequest, customer: Customer) -> dict:
    """?kind= (repeatable) narrows the timeline, ?before= is the keyset cursor of the next page: both a
    400 naming themselves when they are not what the page's own links send."""
    try:
        kinds = timeline.clean_kinds(request.GET.getlist("kind"))
    except ValueError as exc:
        raise BadQuery("kind", str(exc)) from None
    try:
        page = selectors.customer_timeline(
            user=request.user, customer=customer, kinds=kinds, before=request.GET.get("before") or None
        )
    except timeline.BadCursor as exc:
        raise BadQuery("before", str(exc)) from None
    kind_query = "".join(f"&kind={k}" for k in kinds)
    return {
        "timeline": page,
        "timeline_kinds": [(s.kind, s.label) for s in timeline.sources().values()],
        "timeline_kind_query": kind_query,
    }


@login_required
@require_GET
def customer_timeline(request: HttpRequest, external_id: str) -> HttpResponse:
    """The next timeline page for htmx's "Show older activity" (the link falls back to the full page)."""
    customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
    context = {"customer": customer, **_timeline_context(request, customer)}
    response = render(request, "accounts/customer_detail.html#timeline_entries", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


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
            label = {"note": "Note"}.get(kind, kind.capitalize())
            if not ui.is_partial(request):
                messages.success(request, f"{label} logged.")
                return redirect(customer)
            # Re-read for the snapshot's fresh "last touchpoint / latest pulse".
            customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
            context = {
                "customer": customer,
                "can_edit": True,
                f"{kind}_form": make_form(customer, None),
                "new_item": selectors.timeline_item(
                    user=request.user, customer=customer, kind=kind, ref=item.pk
                ),
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


@login_required
@require_POST
def note_create(request: HttpRequest, external_id: str) -> HttpResponse:
    return _log_activity(
        request,
        external_id,
        kind="note",
        make_form=lambda customer, data: NoteForm(data),
        save=lambda customer, data: services.note_log(user=request.user, customer=customer, **data),
    )


# --- Editing and deleting logs (docs/workspace.md#editing-logs) ------------------------------------------

LOG_KINDS = {
    # kind: (model, edit form, update service, delete service)
    "touchpoint": (Touchpoint, TouchpointEditForm, services.touchpoint_update, services.touchpoint_delete),
    "pulse": (Pulse, PulseForm, services.pulse_update, services.pulse_delete),
    "note": (Note, NoteForm, services.note_update, services.note_delete),
}


def _log_for_change(request: HttpRequest, external_id: str, kind: str, pk: int):
    """The customer and one of its logs that the user may change: 404 when it is not this customer's, 403
    when it is not theirs to change (docs/architecture.md#roles-and-permissions)."""
    customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
    model = LOG_KINDS[kind][0]
    log = get_object_or_404(model.objects.select_related("author"), pk=pk, customer=customer)
    if not can_edit_log(request.user, log):
        raise PermissionDenied(f"You can only change your own {model._meta.verbose_name_plural}.")
    return customer, log


def _to_the_minute(value: dt.datetime) -> dt.datetime:
    """What the form's datetime-local field shows and sends back."""
    return timezone.localtime(value).replace(second=0, microsecond=0)


def _edit_form(kind: str, log, data=None):
    form_class = LOG_KINDS[kind][1]
    if kind == "touchpoint":
        initial = {name: getattr(log, name) for name in services.TOUCHPOINT_EDIT_FIELDS}
        initial["occurred_at"] = _to_the_minute(log.occurred_at)
        return form_class(data, customer=log.customer, initial=initial)
    if kind == "pulse":
        return form_class(data, initial={"score": log.score, "note": log.note})
    return form_class(data, initial={"text": log.text})


def _update(kind: str, user, log, cleaned: dict) -> None:
    update = LOG_KINDS[kind][2]
    if kind == "touchpoint" and cleaned.get("occurred_at") == _to_the_minute(log.occurred_at):
        cleaned = {k: v for k, v in cleaned.items() if k != "occurred_at"}  # untouched, not "changed"
    if kind == "note":
        update(user=user, note=log, text=cleaned["text"])
    else:
        update(user=user, **{kind: log}, data=cleaned)


@login_required
@require_http_methods(["GET", "POST"])
def log_edit(request: HttpRequest, external_id: str, kind: str, pk: int) -> HttpResponse:
    """Edit a touchpoint, pulse or note: its author, their manager, an admin; the old text goes to the audit
    log."""
    customer, log = _log_for_change(request, external_id, kind, pk)
    form = _edit_form(kind, log, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _update(kind, request.user, log, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{kind.capitalize()} updated.")
                return redirect(f"{customer.get_absolute_url()}#{kind}-{log.pk}")
        status = 400
    context = {"customer": customer, "log": log, "kind": kind, "form": form}
    return render(request, "accounts/log_edit.html", context, status=status)


@login_required
@require_POST
def log_delete(request: HttpRequest, external_id: str, kind: str, pk: int) -> HttpResponse:
    """Delete a touchpoint, pulse or note (same rule as editing); htmx removes its timeline entry."""
    customer, log = _log_for_change(request, external_id, kind, pk)
    LOG_KINDS[kind][3](user=request.user, **{kind: log})
    if ui.is_partial(request):
        return HttpResponse("")  # the entry's <li> is swapped for nothing
    messages.success(request, f"{kind.capitalize()} deleted. Its text is kept in the audit log.")
    return redirect(customer)


# --- Search (docs/workspace.md#search) -------------------------------------------------------------------


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """The top bar's search: the grouped dropdown for htmx, a whole page otherwise (Enter, no JavaScript)."""
    q = request.GET.get("q", "")
    partial = ui.is_partial(request)
    if partial and not q.strip():
        return HttpResponse("")  # the box was cleared: close the dropdown
    try:
        results = search.search(user=request.user, q=q)
    except ValidationError as exc:
        error = "; ".join(exc.message_dict.get("q", exc.messages))
        context = {"q": q, "error": error, "results": None}
        # The dropdown shows the message in place (htmx swaps no 4xx); the page is a 400.
        status = 200 if partial else 400
        return ui.render_page(request, "accounts/search.html", context, partial="results", status=status)
    context = {"q": results.q, "results": results, "error": ""}
    return ui.render_page(request, "accounts/search.html", context, partial="results")


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
