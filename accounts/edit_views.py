"""Editing in the app (docs/workspace.md#editing-in-the-app): a customer's fields and contacts on its page,
and bulk changes from the Book with a confirmation that names the count. Thin: permission, validate, one
service call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core import ui

from . import editing, saved_views, selectors
from .edit_forms import BulkEditForm, ContactForm, CustomerEditForm
from .forms import BookFilterForm
from .models import Contact, Customer, User
from .views import BOOK_FILTERS
from .visibility import (
    assignable_csms,
    can_edit_customer_fields,
    field_editable_customers,
    is_manager_or_admin,
)


def _editable(request: HttpRequest, external_id: str) -> Customer:
    customer = selectors.customer_for_viewer(user=request.user, external_id=external_id)
    if not can_edit_customer_fields(request.user, customer):
        raise PermissionDenied(editing.DENIED)
    return customer


def _done(request: HttpRequest, customer: Customer, message: str) -> HttpResponse:
    messages.success(request, message)
    if ui.is_partial(request):  # the whole page changes (details, snapshot, audit): htmx reloads it
        response = HttpResponse(status=204)
        response["HX-Redirect"] = customer.get_absolute_url()
        return response
    return redirect(customer)


def _form_response(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return ui.render_page(request, template, context, partial="form", status=status)


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = _editable(request, external_id)
    csms = assignable_csms(request.user).order_by("full_name", "email")
    if customer.csm_id:  # the current CSM stays a choice even outside the user's teams (left unchanged)
        csms = csms | User.objects.filter(pk=customer.csm_id)
    initial = {
        "csm": customer.csm_id,
        "renewal_date": customer.renewal_date,
        "lifecycle_stage": customer.lifecycle_stage,
        "licenses": customer.licenses,
        "segment": customer.segment,
    }
    form = CustomerEditForm(request.POST or None, initial=initial, csms=csms)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            entry = editing.customer_update(user=request.user, customer=customer, changes=changes)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _done(request, customer, "Customer updated." if entry else "Nothing changed.")
    context = {"customer": customer, "form": form}
    return _form_response(request, "accounts/customer_edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, external_id: str, pk: int | None = None) -> HttpResponse:
    customer = _editable(request, external_id)
    contact = get_object_or_404(Contact, pk=pk, customer=customer) if pk is not None else None
    initial = {"email": contact.email, "name": contact.name, "title": contact.title} if contact else None
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            editing.contact_save(user=request.user, customer=customer, contact=contact, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _done(request, customer, "Contact saved." if contact else "Contact added.")
    context = {"customer": customer, "contact": contact, "form": form}
    return _form_response(request, "accounts/contact_form.html", context)


def _matching(request: HttpRequest, params: QueryDict) -> QuerySet[Customer]:
    """The Book's customers for the filters in `params`, as the Book computes them (accounts.views.book)."""
    scope = selectors.book_scope_for(viewer=request.user, csm_id=_int_or_none(params.get("csm")))
    form = BookFilterForm(params, scope=scope, segments=selectors.book_segments(scope))
    return selectors.book_customers(
        scope=scope,
        q=(form.value("q") or "").strip(),
        segment=form.value("segment") or "",
        stage=form.value("stage") or "",
        renewal_within=form.value("renewal"),
        band=form.value("band") or "",
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


MAX_SELECTED = 1000  # ticked on the Book's pages (50 a page); "all matching" has no such limit


@login_required
@require_POST
def book_bulk_edit(request: HttpRequest) -> HttpResponse:
    """Step 1 (no `confirm`): the confirmation naming the count. Step 2 (`confirm=1`): the change."""
    if not is_manager_or_admin(request.user):
        raise PermissionDenied(editing.DENIED)
    form = BulkEditForm(request.POST, csms=assignable_csms(request.user).order_by("full_name", "email"))
    filters = {k: request.POST.get(k, "") for k in BOOK_FILTERS if request.POST.get(k)}
    back = reverse("book") + ("?" + _encode(filters) if filters else "")
    if not form.is_valid():
        return render(request, "accounts/book_bulk.html", {"form": form, "back": back}, status=400)
    if form.cleaned_data["target"] == "matching":
        params = QueryDict(mutable=True)
        params.update(filters)
        qs = _matching(request, params)
    else:
        qs = Customer.objects.filter(pk__in=form.cleaned_data["ids"])
    if form.cleaned_data["target"] == "selected":
        ids = sorted(set(form.cleaned_data["ids"]))  # accounts.editing refuses any the user may not edit
        if len(ids) > MAX_SELECTED:
            form.add_error(None, "Too many ticked customers; choose all matching customers instead.")
            return render(request, "accounts/book_bulk.html", {"form": form, "back": back}, status=400)
        if field_editable_customers(request.user, Customer.objects.filter(pk__in=ids)).count() != len(ids):
            raise PermissionDenied(editing.DENIED)
    else:
        ids = list(field_editable_customers(request.user, qs.order_by()).values_list("pk", flat=True))
    if request.POST.get("confirm") != "1":
        context = {
            "form": form,
            "count": len(ids),
            "back": back,
            "filters": filters,
            "changes": form.describe(),
        }
        return render(request, "accounts/book_bulk.html", context)
    try:
        changed = editing.customers_bulk_update(user=request.user, customer_ids=ids, changes=form.changes())
    except ValidationError as exc:
        form.add_error(None, exc)
        return render(request, "accounts/book_bulk.html", {"form": form, "back": back}, status=400)
    messages.success(request, f"{changed} customer{'s' if changed != 1 else ''} changed ({len(ids)} chosen).")
    return redirect(back)


def _encode(params: dict[str, str]) -> str:
    q = QueryDict(mutable=True)
    q.update(params)
    return q.urlencode()


# --- Saved views of the Book (docs/workspace.md#saved-views) ---


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    try:
        view = saved_views.saved_view_create(
            owner=request.user,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            shared=request.POST.get("shared") == "1",
        )
    except ValidationError as exc:
        context = {"title": "View not saved", "message": " ".join(exc.messages), "back": reverse("book")}
        return render(request, "accounts/book_view_error.html", context, status=400)
    messages.success(request, f"View “{view.name}” saved.")
    return redirect(reverse("book") + (f"?{view.query}" if view.query else ""))


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(saved_views.saved_views_for(request.user), pk=pk)
    saved_views.saved_view_delete(user=request.user, view=view)
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect("book")
