"""Notifications pages (docs/workspace.md#notifications): the list, the top bar's bell, mark read, and each
user's email setting. Everyone signed in sees only their own."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import ui

from . import notifications
from .models import EmailMode


class EmailModeForm(forms.Form):
    email_mode = forms.ChoiceField(label="Email me", choices=EmailMode.choices, widget=forms.RadioSelect)
    slack = forms.BooleanField(
        label="Also post what is assigned to me or mentions me to my team's Slack channel",
        required=False,
        help_text="Where an admin has set up a Slack channel for your team (or a default one).",
    )


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = ui.paginate(request, notifications.notifications_for(request.user), per_page=50)
    return render(request, "accounts/notifications.html", {"page": page})


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell with its unread count (one indexed query), loaded by the top bar and refreshed by htmx."""
    response = render(
        request, "accounts/notification_bell.html", {"unread": notifications.unread_count(request.user)}
    )
    patch_cache_control(response, no_store=True)
    return response


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Mark one (or, without pk, every) notification of the user read; then follow its link if asked."""
    notifications.notifications_mark_read(user=request.user, ids=[pk] if pk is not None else None)
    return redirect(ui.safe_next(request, request.POST.get("next"), default=reverse("notifications")))


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    form = EmailModeForm(
        request.POST or None,
        initial={
            "email_mode": notifications.email_mode_of(request.user),
            "slack": notifications.slack_wanted(request.user),
        },
    )
    if request.method == "POST" and form.is_valid():
        notifications.notification_settings_set(
            user=request.user, email_mode=form.cleaned_data["email_mode"], slack=form.cleaned_data["slack"]
        )
        messages.success(request, "Notification settings saved.")
        return redirect("notification_settings")
    status = 400 if form.errors else 200
    return render(request, "accounts/notification_settings.html", {"form": form}, status=status)
