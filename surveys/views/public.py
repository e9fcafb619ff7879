"""Public survey pages (no login): answer, thank-you, unsubscribe. docs/surveys.md.

GET never records an answer (mail scanners prefetch links): it only marks the invitation opened. Every bad
link ends on a friendly page with a 4xx status.

The POSTs are CSRF-exempt on purpose: they are authorised by the secret token in the URL, not by a cookie,
so a forged cross-site request gains nothing without the token, and a respondent whose mail app blocks
cookies can still answer or unsubscribe.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..forms import AnswerForm
from ..models import InvitationState, SurveyKind, scale_of
from ..ratelimit import rate_limited
from ..services import (
    SurveyLinkError,
    contact_unsubscribe,
    invitation_answer,
    invitation_for_token,
    invitation_open,
)


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, template, {"company": settings.CSHUB_COMPANY_NAME, **context}, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link_error(request: HttpRequest, exc: SurveyLinkError) -> HttpResponse:
    return _page(
        request,
        "surveys/public/message.html",
        {"title": exc.title, "message": exc.message},
        status=exc.status,
    )


def _preselected(request: HttpRequest, kind: str) -> int | None:
    try:
        value = int(request.GET.get("score", ""))
    except ValueError:
        return None
    return value if value in scale_of(kind) else None


@csrf_exempt
@never_cache
@rate_limited("survey")
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            try:
                # The common case in one transaction: lock, check, insert (the form only renders errors).
                invitation_answer(
                    token=token, score=request.POST.get("score"), comment=request.POST.get("comment", "")
                )
                return redirect("surveys:thanks", token=token)
            except ValidationError as exc:
                invitation = invitation_for_token(token)
                kind = invitation.campaign.kind
                form = AnswerForm(request.POST, kind=kind)
                form.is_valid()
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        if message not in form.errors.get(field, []):
                            form.add_error(field if field in form.fields else None, message)
            status = 400
        else:
            invitation = invitation_open(token=token)
            kind = invitation.campaign.kind
            form = AnswerForm(kind=kind, initial={"score": _preselected(request, kind)})
            status = 200
    except SurveyLinkError as exc:
        return _link_error(request, exc)
    context = {
        "invitation": invitation,
        "kind": SurveyKind.objects.for_kind(kind),
        "question": invitation.campaign.question,
        "form": form,
        "selected": form["score"].value(),
        "unsubscribe_url": reverse("surveys:unsubscribe", kwargs={"token": token}),
    }
    return _page(request, "surveys/public/answer.html", context, status=status)


@never_cache
@rate_limited("survey")
@require_http_methods(["GET"])
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_for_token(token)
    except SurveyLinkError as exc:
        return _link_error(request, exc)
    if invitation.state != InvitationState.ANSWERED:
        return redirect("surveys:answer", token=token)
    return _page(
        request,
        "surveys/public/message.html",
        {"title": "Thank you!", "message": "Your answer has been recorded. It helps us serve you better."},
    )


@csrf_exempt
@never_cache
@rate_limited("survey")
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners must not unsubscribe anyone); POST unsubscribes."""
    try:
        if request.method == "POST":
            contact = contact_unsubscribe(token=token)
            return _page(
                request,
                "surveys/public/message.html",
                {
                    "title": "You are unsubscribed",
                    "message": f"We will not send surveys to {contact.email} again.",
                },
            )
        invitation = invitation_for_token(token)
    except SurveyLinkError as exc:
        return _link_error(request, exc)
    return _page(request, "surveys/public/unsubscribe.html", {"invitation": invitation})
