"""HTML screens of playbooks: My tasks, team tasks, run page, library (playbooks, steps, triggers), assign."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Customer
from accounts.visibility import (
    book_owners,
    can_edit_configuration,
    can_manage_customer,
    editable_customers,
    is_manager_or_admin,
    task_assignees,
)
from core import ui

from . import selectors, services
from .forms import (
    AssignFilterForm,
    AssignForm,
    NotificationForm,
    PlaybookForm,
    RunCloseForm,
    StepFormSet,
    TaskNoteForm,
    TriggerForm,
)
from .models import NotificationPreference, NotifyMode, Playbook, RunStatus, Trigger
from .templatetags.playbooks_ui import FROZEN_KEYS

ASSIGN_PAGE_SIZE = 100


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def _require_config(request: HttpRequest) -> None:
    if not can_edit_configuration(request.user):
        raise PermissionDenied("Only managers and admins can edit playbooks.")


def _apply_errors(form, exc: ValidationError, *, prefix: str = "") -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            field = f"{prefix}{name}" if f"{prefix}{name}" in form.fields else None
            for error in errors:
                form.add_error(field, error)
    else:
        form.add_error(None, exc)


# --- My tasks --------------------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    pref = NotificationPreference.objects.filter(user=request.user).values_list("mode", flat=True).first()
    context = {
        "today": timezone.localdate(),
        "inbox": selectors.inbox_tasks(user=request.user),
        "note_form": TaskNoteForm(),
        "notify_form": NotificationForm(initial={"mode": pref or NotifyMode.IMMEDIATE}),
        # reassign choices (docs/workspace.md#own-tasks); the service checks them again
        "assignees": list(task_assignees(request.user).exclude(pk=request.user.pk).order_by("full_name")),
    }
    return render(request, "playbooks/inbox.html", context)


def _finish(request: HttpRequest, pk: int, *, skip: bool) -> HttpResponse:
    task = selectors.task_for_worker(user=request.user, pk=pk)
    form = TaskNoteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            if skip:
                task = services.task_skip(user=request.user, task=task, note=form.cleaned_data["note"])
            else:
                task = services.task_complete(user=request.user, task=task, note=form.cleaned_data["note"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if _is_partial(request):
        task = selectors.task_for_worker(user=request.user, pk=pk)
        in_run = bool(request.POST.get("in_run"))
        context = {"task": task, "today": timezone.localdate(), "error": error, "in_run": in_run}
        response = render(request, "playbooks/inbox.html#task_row", context)
        if in_run:  # on the run page: refresh its progress tile too (out of band)
            progress = {**_progress(list(task.run.tasks.all())), "oob": True}
            response.write(render_to_string("playbooks/run.html#progress", progress, request=request))
        else:  # My tasks: the header's "54 open · 33 overdue" and each group's count (out of band)
            counts = {"counts": selectors.inbox_counts(user=request.user), "oob": True}
            response.write(render_to_string("playbooks/inbox.html#counts_oob", counts, request=request))
        if not error:
            done = f"“{task.title}” {'skipped' if skip else 'done'}."
            response["HX-Trigger"] = json.dumps({"toast": {"message": done, "kind": "success"}})
        patch_vary_headers(response, ["HX-Request"])
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"“{task.title}” {'skipped' if skip else 'done'}.")
    return redirect(ui.safe_next(request, request.POST.get("next"), reverse("playbooks:inbox")))


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _finish(request, pk, skip=False)


@login_required
@require_POST
def task_skip(request: HttpRequest, pk: int) -> HttpResponse:
    return _finish(request, pk, skip=True)


@login_required
@require_POST
def notifications(request: HttpRequest) -> HttpResponse:
    form = NotificationForm(request.POST)
    if form.is_valid():
        services.notification_preference_set(user=request.user, mode=form.cleaned_data["mode"])
        messages.success(request, "Notification preference saved.")
    return redirect("playbooks:inbox")


@login_required
@require_GET
def team_tasks(request: HttpRequest) -> HttpResponse:
    rows = selectors.team_workload(user=request.user)
    tasks = selectors.team_open_tasks(people=rows)
    for person in rows:
        person.open_tasks = tasks.get(person.pk, [])
    return render(request, "playbooks/team.html", {"rows": rows, "today": timezone.localdate()})


# --- Runs ---------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.run_for_viewer(user=request.user, pk=pk)
    close_form = RunCloseForm(request.POST or None)
    can_close = run.is_open and services.can_manage_run(request.user, run)
    if request.method == "POST":
        if not can_close:
            raise PermissionDenied("You cannot close this run.")
        if close_form.is_valid():
            try:
                services.run_close(user=request.user, run=run, **close_form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(close_form, exc)
            else:
                messages.success(request, "Run closed.")
                return redirect(run)
    tasks = list(run.tasks.all())
    context = {
        **_progress(tasks),
        "run": run,
        "today": timezone.localdate(),
        "tasks": tasks,
        "reason_rows": [
            (key.replace("_", " ").capitalize(), value)
            for key, value in (run.reason_values.get("values") or {}).items()
            if value not in (None, "") and key not in FROZEN_KEYS  # relative then, wrong now
        ],
        "can_close": can_close,
        "close_form": close_form,
        "note_form": TaskNoteForm(),
        "workable": {t.pk for t in tasks if t.is_open and services.can_work_task(request.user, t)},
    }
    return render(request, "playbooks/run.html", context)


def _progress(tasks: list) -> dict:
    finished = sum(1 for t in tasks if not t.is_open)
    return {
        "finished": finished,
        "total": len(tasks),
        "progress": round(100 * finished / len(tasks)) if tasks else 100,
    }


# --- Library ------------------------------------------------------------------------------------------------


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    _require_config(request)
    return render(request, "playbooks/library.html", {"playbooks": selectors.library(user=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def playbook_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_config(request)
    playbook = get_object_or_404(Playbook, pk=pk) if pk else None
    if request.method == "POST":
        form, steps = PlaybookForm(request.POST), StepFormSet(request.POST, prefix="steps")
        if form.is_valid() and steps.is_valid():
            kept = [s for s in steps.cleaned_data if s and not s.get("DELETE")]
            try:
                playbook = services.playbook_save(
                    user=request.user, playbook=playbook, steps=kept, **form.cleaned_data
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, f"Playbook “{playbook.name}” saved.")
                return redirect("playbooks:edit", pk=playbook.pk)
    else:
        initial = (
            {"name": playbook.name, "purpose": playbook.purpose, "enabled": playbook.enabled}
            if playbook
            else None
        )
        form = PlaybookForm(initial=initial)
        step_rows = (
            list(
                playbook.steps.values("id", "title", "guidance", "due_after_days", "required_touchpoint_kind")
            )
            if playbook
            else []
        )
        steps = StepFormSet(initial=step_rows, prefix="steps")
    context = {
        "playbook": playbook,
        "form": form,
        "steps": steps,
        "triggers": list(playbook.triggers.all()) if playbook else [],
    }
    return render(request, "playbooks/playbook_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, playbook_pk: int, pk: int | None = None) -> HttpResponse:
    _require_config(request)
    playbook = get_object_or_404(Playbook, pk=playbook_pk)
    trigger = get_object_or_404(Trigger, pk=pk, playbook=playbook) if pk else None
    if request.method == "POST" and "delete" in request.POST and trigger:
        services.trigger_delete(user=request.user, trigger=trigger)
        messages.success(request, "Trigger deleted.")
        return redirect("playbooks:edit", pk=playbook.pk)
    if request.method == "POST" and "change" not in request.POST:
        form = TriggerForm(request.POST)
        if form.is_valid():
            try:
                services.trigger_save(
                    user=request.user,
                    playbook=playbook,
                    trigger=trigger,
                    condition=form.cleaned_data["condition"],
                    params=form.params(),
                    enabled=form.cleaned_data["enabled"],
                    cooldown_days=form.cleaned_data["cooldown_days"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc, prefix="p_")
            else:
                messages.success(request, "Trigger saved.")
                return redirect("playbooks:edit", pk=playbook.pk)
    elif request.method == "POST":  # the condition changed: show its parameters (htmx or a plain reload)
        form = TriggerForm(initial={**request.POST.dict()}, condition=request.POST.get("condition", ""))
    elif trigger:
        form = TriggerForm(
            initial={
                "condition": trigger.condition,
                "enabled": trigger.enabled,
                "cooldown_days": trigger.cooldown_days,
            },
            condition=trigger.condition,
            initial_params=trigger.params,
        )
    else:
        condition = request.GET.get("condition", "")
        form = TriggerForm(initial={"condition": condition}, condition=condition)
    context = {"playbook": playbook, "trigger": trigger, "form": form}
    template = (
        "playbooks/trigger_form.html#trigger_form" if _is_partial(request) else "playbooks/trigger_form.html"
    )
    return render(request, template, context)


# --- Assign -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest) -> HttpResponse:
    """Managers/admins: filter customers of their teams, tick some (or all that match), start a playbook."""
    user = request.user
    if not is_manager_or_admin(user):
        raise PermissionDenied("Only managers and admins can assign playbooks.")
    scope = editable_customers(user)
    csms = list(book_owners(user))
    segments = list(
        scope.exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct()
    )
    # The filters are in the page's query string, which the start form posts back to; a POST without one
    # may carry them in its body. (Read from the body alone, "all matching" ignored the page's filters.)
    source = request.GET or (request.POST if request.method == "POST" else request.GET)
    filters = AssignFilterForm(source, segments=segments, csms=csms)
    customers = scope.select_related("csm")
    if q := filters.value("q"):
        customers = customers.filter(name__icontains=q)
    if segment := filters.value("segment"):
        customers = customers.filter(segment=segment)
    if csm := filters.value("csm"):
        customers = customers.filter(csm_id=csm)
    if stage := filters.value("stage"):
        customers = customers.filter(lifecycle_stage=stage)
    if band := filters.value("band"):
        customers = customers.filter(health_band="" if band == "none" else band)
    customers = customers.order_by("name", "pk")
    form = AssignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("scope") == "all":
            chosen = list(customers)
            # Every matching customer is a bulk action: it starts only from the confirmation step, and only
            # for the number of customers that step showed (the filters may match others by then).
            if request.POST.get("confirm") != "yes" or request.POST.get("expected") != str(len(chosen)):
                return _assign_confirm(request, form=form, chosen=chosen)
        else:
            ids = [int(i) for i in request.POST.getlist("customers") if i.isdigit()]
            chosen = list(customers.filter(pk__in=ids))
        try:
            result = services.playbook_runs_start(
                user=user,
                playbook=form.cleaned_data["playbook"],
                customers=chosen,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            name, n = form.cleaned_data["playbook"].name, len(result.started)
            text = f"Started “{name}” for {n} customer{'s' if n != 1 else ''}"
            if result.already_open:
                text += f"; already open for {_names(result.already_open_customers)}"
            messages.success(request, text + ".")
            # The undo (assign_undo) cancels exactly these runs: their ids stay on the server.
            request.session[BULK_START_KEY] = {"runs": result.started, "playbook": name}
            return redirect(f"{reverse('playbooks:assign')}?{request.GET.urlencode()}")
    page = Paginator(customers, ASSIGN_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "form": form,
        "page": page,
        "query": source.urlencode(),
        "last_start": _last_bulk_start(request),
    }
    return render(request, "playbooks/assign.html", context)


BULK_START_KEY = "playbooks_bulk_start"
CONFIRM_LIST = 20  # customers named on the confirmation step; the rest are counted


def _names(customers: list[Customer], limit: int = 5) -> str:
    names = ", ".join(c.name for c in customers[:limit])
    return names + (f" and {len(customers) - limit} more" if len(customers) > limit else "")


def _assign_confirm(request: HttpRequest, *, form: AssignForm, chosen: list[Customer]) -> HttpResponse:
    """The confirmation step of "Start for all matching": how many, who, and who already has it open."""
    playbook = form.cleaned_data["playbook"]
    open_ids = set(selectors.customers_with_open_run(playbook=playbook, customers=chosen))
    context = {
        "form": form,
        "playbook": playbook,
        "count": len(chosen),
        "shown": chosen[:CONFIRM_LIST],
        "already_open": [c for c in chosen if c.pk in open_ids],
        "changed": request.POST.get("confirm") == "yes",
        "query": request.GET.urlencode(),
    }
    return render(request, "playbooks/assign_confirm.html", context)


def _last_bulk_start(request: HttpRequest) -> dict | None:
    """The last bulk start of this session while some of its runs are still open (what Undo would cancel)."""
    last = request.session.get(BULK_START_KEY)
    if not last:
        return None
    still_open = selectors.open_run_count(run_ids=last["runs"])
    return {**last, "open": still_open} if still_open else None


@login_required
@require_POST
def assign_undo(request: HttpRequest) -> HttpResponse:
    """Undo the session's last bulk start: cancel its runs that are still open."""
    last = request.session.pop(BULK_START_KEY, None)
    if last:
        cancelled = services.runs_cancel(
            user=request.user,
            run_ids=last["runs"],
            outcome_note="Undone: cancelled right after a bulk start.",
        )
        messages.success(
            request,
            f"Cancelled “{last['playbook']}” for {cancelled} customer{'s' if cancelled != 1 else ''}.",
        )
    else:
        messages.info(request, "Nothing to undo.")
    return redirect(f"{reverse('playbooks:assign')}?{request.GET.urlencode()}")


@login_required
@require_POST
def assign_customer(request: HttpRequest, external_id: str) -> HttpResponse:
    """The customer page panel's "Start a playbook" form."""
    customer = get_object_or_404(Customer, external_id=external_id)
    if not can_manage_customer(request.user, customer):
        raise PermissionDenied("You cannot assign playbooks to this customer.")
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a playbook.")
        return redirect(customer)
    try:
        run = services.playbook_run_start(
            user=request.user,
            playbook=form.cleaned_data["playbook"],
            customer=customer,
            note=form.cleaned_data["note"],
        )
    except services.RunAlreadyOpen as exc:
        messages.error(request, str(exc))
        return redirect(exc.run or customer)
    messages.success(request, f"Started “{run.playbook.name}”.")
    return redirect(run)


def run_status_badge(status: str) -> str:
    return {RunStatus.OPEN: "blue", RunStatus.DONE: "green", RunStatus.CANCELLED: ""}.get(status, "")
