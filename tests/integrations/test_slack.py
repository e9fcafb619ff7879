"""Slack (docs/integrations.md#slack): new playbook runs, red transitions and detractor answers are posted to
the team's incoming webhook (else the default), with absolute links back, through the outbox; tested against
a local server that records the posts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import AuditEntry
from core import events
from integrations.models import DeliveryState, SlackChannel, SlackMessage
from integrations.slack.services import masked, slack_channel_set, slack_message_send
from playbooks.services.runs import NewRun, runs_create
from surveys.services.links import invitation_answer
from tests.factories import PlaybookFactory, StepFactory, TeamFactory, invitation_with_token

from .receiver import Receiver


@pytest.fixture
def slack() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def texts(receiver: Receiver) -> list[str]:
    return [got.json()["text"] for got in receiver.received]


def test_a_new_run_posts_to_the_team_channel_with_links_back(
    admin_user, manager, customer, slack, django_capture_on_commit_callbacks, settings
):
    default = Receiver().start()
    try:
        slack_channel_set(user=admin_user, team=None, webhook_url=f"{default.url}/services/T0/B0/default")
        team = customer.csm.teams.get()
        slack_channel_set(user=admin_user, team=team, webhook_url=f"{slack.url}/services/T1/B1/north")
        playbook = PlaybookFactory(name="Sponsor rescue")
        StepFactory(playbook=playbook)
        with django_capture_on_commit_callbacks(execute=True):
            [run_id] = runs_create(
                playbook=playbook, rows=[NewRun(customer.pk, "Band entered red", {})], started_by=manager
            )
        assert default.received == []
    finally:
        default.stop()
    [got] = slack.received
    assert got.path == "/services/T1/B1/north"
    text = got.json()["text"]
    assert f"<{settings.SITE_URL}/playbooks/runs/{run_id}/|Sponsor rescue>" in text
    assert f"<{settings.SITE_URL}/customers/NW-1/|Northwind Traders>" in text
    assert "Band entered red" in text
    assert "csm@example.com" in text
    assert SlackMessage.objects.get().state == DeliveryState.DELIVERED


def test_without_a_team_channel_the_default_gets_it_and_without_any_nothing_is_written(
    admin_user, manager, customer, other_customer, slack, django_capture_on_commit_callbacks
):
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook)
    runs_create(playbook=playbook, rows=[NewRun(customer.pk, "x", {})], started_by=manager)
    assert not SlackMessage.objects.exists()

    slack_channel_set(user=admin_user, team=None, webhook_url=f"{slack.url}/services/default")
    TeamFactory(name="Unrelated")  # another team's channel is not this customer's
    with django_capture_on_commit_callbacks(execute=True):
        runs_create(playbook=playbook, rows=[NewRun(other_customer.pk, "y", {})], started_by=manager)
    assert [got.path for got in slack.received] == ["/services/default"]


def test_only_red_transitions_and_nps_detractors_are_posted(
    admin_user, customer, slack, django_capture_on_commit_callbacks
):
    slack_channel_set(user=admin_user, team=None, webhook_url=f"{slack.url}/services/default")
    base = {"customer_id": customer.pk, "day": "2027-01-04", "score": 31.5}
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish_many(
            "health.band_changed",
            [
                {**base, "band": "red", "previous_band": "yellow"},
                {**base, "band": "yellow", "previous_band": "green"},
            ],
        )
    for score in ("9", "6"):
        _invitation, token = invitation_with_token(
            contact__customer=customer, contact__email=f"p{score}@nw.test"
        )
        with django_capture_on_commit_callbacks(execute=True):
            invitation_answer(
                token=token, score=score, comment="Too slow <!channel> & <http://x|y>" if score == "6" else ""
            )
    # (the detractor answer also starts the starter library's detractor follow-up: a run message)
    posted = [t for t in texts(slack) if not t.startswith(":clipboard:")]
    assert len(posted) == 2
    red, detractor = posted
    assert "turned *red* (score 32), from yellow, on 2027-01-04" in red
    assert "p6@nw.test" in detractor
    assert "NPS *6*" in detractor
    assert ">Too slow &lt;!channel&gt; &amp; &lt;http://x|y&gt;" in detractor  # no forged mention or link


def test_a_slack_outage_is_retried(admin_user, manager, customer, django_capture_on_commit_callbacks):
    down = Receiver()
    slack_channel_set(user=admin_user, team=None, webhook_url=f"{down.url}/services/default")
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook)
    with django_capture_on_commit_callbacks(execute=True):
        runs_create(playbook=playbook, rows=[NewRun(customer.pk, "x", {})], started_by=manager)
    message = SlackMessage.objects.get()
    assert (message.state, message.attempts) == (DeliveryState.PENDING, 1)
    down.start()
    try:
        assert (
            slack_message_send(message_id=message.pk, now=message.next_attempt_at) == DeliveryState.DELIVERED
        )
    finally:
        down.stop()
    assert len(down.received) == 1


def test_channel_urls_are_admin_only_audited_masked_and_removable(admin_user, manager, csm):
    for user in (manager, csm):
        with pytest.raises(PermissionDenied):
            slack_channel_set(user=user, team=None, webhook_url="https://hooks.slack.com/services/T/B/secret")
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXsecret"
    slack_channel_set(user=admin_user, team=None, webhook_url=url)
    assert masked(url) == "https://hooks.slack.com/…secret"
    entry = AuditEntry.objects.get(object_type="slackchannel")
    assert "XXXXXXXX" not in str(entry.changes)
    slack_channel_set(user=admin_user, team=None, webhook_url="")
    assert not SlackChannel.objects.exists()
    assert AuditEntry.objects.filter(object_type="slackchannel").count() == 2  # set, removed


def test_a_mention_goes_to_the_persons_team_channel_unless_they_turned_slack_off(
    admin_user, manager, csm, customer, slack, django_capture_on_commit_callbacks, settings
):
    from accounts.notifications import notification_settings_set
    from accounts.services import note_log

    team = csm.teams.get()
    slack_channel_set(user=admin_user, team=team, webhook_url=f"{slack.url}/services/T1/B1/north")
    local = csm.email.split("@")[0]
    with django_capture_on_commit_callbacks(execute=True):
        note = note_log(user=manager, customer=customer, text=f"@{local} please call them <b>today</b>")
    [got] = slack.received
    assert got.path == "/services/T1/B1/north"
    text = got.json()["text"]
    assert text.startswith(
        ":bell: For *Casey Csm*: Maria Manager mentioned you in a note on Northwind Traders"
    )
    assert f"<{settings.SITE_URL}/customers/NW-1/#note-{note.pk}|Open>" in text

    notification_settings_set(user=csm, email_mode="off", slack=False)
    with django_capture_on_commit_callbacks(execute=True):
        note_log(user=manager, customer=customer, text=f"@{local} and again")
    assert len(slack.received) == 1  # turned off: nothing more
    assert SlackMessage.objects.count() == 1
