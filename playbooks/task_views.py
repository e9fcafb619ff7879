"""Tasks of one's own (docs/workspace.md#own-tasks): add an ad-hoc task on a customer, snooze, reassign.
Thin: permission (in the selector and the service), validate, one service call, redirect back."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import customer_for_viewer
from accounts.visibility import can_edit_customer, task_assignees
from core import ui

from . import selectors
from .services import own_tasks
from .task_forms import TaskAddForm, TaskReassignForm, TaskSnoozeForm


def _errors(form, exc: ValidationError | None = None) -> str:
    if exc is not None:
        return " ".join(exc.messages)
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _answer(request: HttpRequest, *, error: str, done: str, default: str) -> HttpResponse:
    """Back to the page the form came from with a message; a refused input is a 400 page naming the
    problem, with a link back."""
    back = ui.safe_next(request, request.POST.get("next"), default)
    if error:
        context = {"title": "Not saved", "message": error, "back": back}
        return render(request, "playbooks/task_error.html", context, status=400)
    messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def task_add(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = customer_for_viewer(user=request.user, external_id=external_id)
    if not can_edit_customer(request.user, customer):
        raise PermissionDenied("You can only add tasks on customers in your book (managers: their teams').")
    form = TaskAddForm(request.POST, assignees=task_assignees(request.user))
    error = ""
    if form.is_valid():
        try:
            own_tasks.task_add(user=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            error = _errors(form, exc)
    else:
        error = _errors(form)
    return _answer(request, error=error, done="Task added.", default=customer.get_absolute_url())


@login_required
@require_POST
def task_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_for_worker(user=request.user, pk=pk)
    form = TaskSnoozeForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            own_tasks.task_snooze(user=request.user, task=task, until=form.cleaned_data["until"])
        except ValidationError as exc:
            error = _errors(form, exc)
    else:
        error = _errors(form)
    done = f"“{task.title}” snoozed until {form.cleaned_data.get('until')}." if not error else ""
    return _answer(request, error=error, done=done, default=reverse("playbooks:inbox"))


@login_required
@require_POST
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_for_worker(user=request.user, pk=pk)
    # Any user may be named; the service refuses those outside the user's reach with a field message.
    form = TaskReassignForm(request.POST, assignees=User.objects.filter(is_active=True))
    error = ""
    if form.is_valid():
        try:
            own_tasks.task_reassign(user=request.user, task=task, assignee=form.cleaned_data["assignee"])
        except ValidationError as exc:
            error = _errors(form, exc)
    else:
        error = _errors(form)
    done = f"“{task.title}” reassigned." if not error else ""
    return _answer(request, error=error, done=done, default=reverse("playbooks:inbox"))
