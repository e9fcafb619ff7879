"""The demo's surveys: a believable year of answers, one live campaign whose emails carry working links."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from surveys.models import Campaign, Invitation, InvitationState, Response
from surveys.scores import csat_score, nps_score
from surveys.services import invitation_answer

from .conftest import links_in

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", customers=40, stdout=out)
    return out.getvalue()


def test_demo_has_a_year_of_campaigns_with_believable_answers(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = seed()
    assert "survey campaigns" in output
    assert Campaign.objects.filter(selection__startswith="Demo history").count() == 12
    responses = Response.objects.all()
    nps = nps_score(responses)
    assert nps.responses > 30
    assert -20 < nps.score < 70
    assert nps.detractors > 0
    assert 40 < csat_score(responses).score <= 100
    assert responses.filter(kind="nps", score__lte=6).exclude(comment="").exists()
    # Whatever today is, the home page's "NPS · 90 days" tile has demo answers to show.
    recent = responses.filter(kind="nps", answered_at__gte=timezone.now() - dt.timedelta(days=90))
    assert nps_score(recent).responses > 0
    # Every demo answer sent through a campaign belongs to an answered invitation (other apps' demos may add
    # imported answers, which have none).
    via_campaigns = responses.filter(invitation__isnull=False)
    assert via_campaigns.filter(invitation__state=InvitationState.ANSWERED).count() == via_campaigns.count()

    # The live campaign went out through the real send path; its links work.
    live = Campaign.objects.get(selection__startswith="Demo live campaign")
    assert live.invitations.filter(state=InvitationState.SENT).count() == len(mail.outbox) > 0
    link = links_in(mail.outbox[0].body)[0]
    token = link.split("/s/")[1].split("/")[0]
    assert invitation_answer(token=token, score=8).invitation.campaign == live


def test_demo_surveys_are_seeded_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    counts = (
        Campaign.objects.count(),
        Invitation.objects.count(),
        Response.objects.count(),
        len(mail.outbox),
    )
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    assert (
        Campaign.objects.count(),
        Invitation.objects.count(),
        Response.objects.count(),
        len(mail.outbox),
    ) == counts
