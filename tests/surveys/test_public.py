"""Public survey pages (docs/surveys.md): GET records nothing, one answer per link, friendly 4xx pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.models import InvitationState, Response
from tests.factories import ContactFactory, invitation_with_token


def answer_url(token: str) -> str:
    return reverse("surveys:answer", kwargs={"token": token})


@pytest.fixture
def link(db):
    return invitation_with_token()


def test_get_marks_opened_and_records_no_answer(anonymous, link):
    invitation, token = link
    response = anonymous.get(answer_url(token) + "?score=9")
    assert response.status_code == 200
    assert Response.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.OPENED
    assert invitation.opened_at is not None


def test_get_preselects_score_from_the_email_button(anonymous, link):
    _, token = link
    html = anonymous.get(answer_url(token) + "?score=7").content.decode()
    assert 'value="7" checked' in html
    assert html.count(" checked ") == 1


def test_get_ignores_out_of_range_preselection(anonymous, link):
    _, token = link
    response = anonymous.get(answer_url(token) + "?score=99")
    assert response.status_code == 200
    assert " checked " not in response.content.decode()


def test_post_records_the_answer_and_shows_thanks(anonymous, link):
    invitation, token = link
    response = anonymous.post(answer_url(token), {"score": "9", "comment": "  Great support team.  "})
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:thanks", kwargs={"token": token})
    answer = Response.objects.get()
    assert (answer.invitation_id, answer.score, answer.comment, answer.kind) == (
        invitation.pk,
        9,
        "Great support team.",
        "nps",
    )
    assert answer.customer_id == invitation.customer_id
    assert answer.contact_email == invitation.contact.email
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.ANSWERED
    thanks = anonymous.get(response["Location"])
    assert thanks.status_code == 200
    assert "Thank you" in thanks.content.decode()


def test_second_submit_gets_a_friendly_410_and_keeps_the_first_answer(anonymous, link):
    _, token = link
    anonymous.post(answer_url(token), {"score": "3"})
    again = anonymous.post(answer_url(token), {"score": "10"})
    assert again.status_code == 410
    assert "already answered" in again.content.decode()
    assert list(Response.objects.values_list("score", flat=True)) == [3]
    assert anonymous.get(answer_url(token)).status_code == 410


def test_expired_link_gets_410(anonymous, db):
    _, token = invitation_with_token(expires_at=timezone.now() - dt.timedelta(minutes=1))
    for response in (anonymous.get(answer_url(token)), anonymous.post(answer_url(token), {"score": "5"})):
        assert response.status_code == 410
        assert "closed" in response.content.decode()
    assert Response.objects.count() == 0


@pytest.mark.parametrize("token", ["forged-token", "x" * 43, "a" * 500, "%00"])
def test_forged_link_gets_404_page(anonymous, db, token):
    invitation_with_token()
    for response in (anonymous.get(f"/s/{token}/"), anonymous.post(f"/s/{token}/", {"score": "5"})):
        assert response.status_code == 404
        assert "could not find this survey" in response.content.decode()
    assert anonymous.get(f"/s/{token}/thanks/").status_code == 404
    assert anonymous.get(f"/s/{token}/unsubscribe/").status_code == 404


@pytest.mark.parametrize("score", ["11", "-1", "abc", ""])
def test_out_of_range_score_is_rejected_with_a_clear_message(anonymous, link, score):
    _, token = link
    response = anonymous.post(answer_url(token), {"score": score})
    assert response.status_code == 400
    assert "Choose a score from 0 to 10." in response.content.decode()
    assert Response.objects.count() == 0


def test_csat_scale_is_1_to_5(anonymous, db):
    _, token = invitation_with_token(campaign__kind="csat")
    response = anonymous.post(answer_url(token), {"score": "0"})
    assert response.status_code == 400
    assert "Choose a score from 1 to 5." in response.content.decode()
    assert anonymous.post(answer_url(token), {"score": "5"}).status_code == 302


def test_oversize_comment_is_rejected_and_kept_for_editing(anonymous, link):
    _, token = link
    response = anonymous.post(answer_url(token), {"score": "8", "comment": "x" * 2001})
    assert response.status_code == 400
    assert "Please keep your comment under 2,000 characters (2,001 now)." in response.content.decode()
    assert Response.objects.count() == 0
    assert anonymous.post(answer_url(token), {"score": "8", "comment": "x" * 2000}).status_code == 302


def test_thanks_before_answering_redirects_to_the_question(anonymous, link):
    _, token = link
    response = anonymous.get(reverse("surveys:thanks", kwargs={"token": token}))
    assert response.status_code == 302
    assert response["Location"] == answer_url(token)


def test_unsubscribe_get_only_asks_post_unsubscribes_every_row_of_that_address(anonymous, link):
    invitation, token = link
    same_person_elsewhere = ContactFactory(email=invitation.contact.email.upper())
    url = reverse("surveys:unsubscribe", kwargs={"token": token})
    page = anonymous.get(url)
    assert page.status_code == 200
    assert "Stop receiving surveys?" in page.content.decode()
    invitation.contact.refresh_from_db()
    assert invitation.contact.unsubscribed_at is None
    done = anonymous.post(url)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    invitation.contact.refresh_from_db()
    same_person_elsewhere.refresh_from_db()
    assert invitation.contact.unsubscribed_at is not None
    assert same_person_elsewhere.unsubscribed_at is not None


def test_unsubscribe_works_from_an_expired_link(anonymous, db):
    invitation, token = invitation_with_token(expires_at=timezone.now() - dt.timedelta(days=3))
    assert anonymous.post(reverse("surveys:unsubscribe", kwargs={"token": token})).status_code == 200
    invitation.contact.refresh_from_db()
    assert invitation.contact.unsubscribed_at is not None


def test_public_pages_are_rate_limited_per_ip(anonymous, link, settings):
    settings.CSHUB_SURVEY_RATE_LIMIT = 3
    settings.CSHUB_SURVEY_RATE_WINDOW = 3600  # a minute's fixed window could end between two requests
    _, token = link
    codes = [anonymous.get(answer_url(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = anonymous.post(answer_url(token), {"score": "9"})
    assert limited.status_code == 429
    assert limited["Retry-After"] == str(settings.CSHUB_SURVEY_RATE_WINDOW)
    assert Response.objects.count() == 0
    # Another address is not affected.
    assert anonymous.get(answer_url(token), REMOTE_ADDR="10.1.2.3").status_code == 200


def test_answer_page_needs_no_login_and_has_no_app_navigation(anonymous, link):
    _, token = link
    html = anonymous.get(answer_url(token)).content.decode()
    assert "How likely are you to recommend" in html
    assert "Log out" not in html
    assert 'name="viewport"' in html


def test_answer_and_unsubscribe_need_no_csrf_cookie(link):
    """The token in the URL authorises the POST; a mail app that blocks cookies still works."""
    invitation, token = link
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(answer_url(token), {"score": "6"}).status_code == 302
    assert strict.post(reverse("surveys:unsubscribe", kwargs={"token": token})).status_code == 200
    invitation.contact.refresh_from_db()
    assert invitation.contact.unsubscribed_at is not None
