"""Signed-in survey pages: results for everyone signed in, campaigns for managers/admins
(docs/architecture.md#roles-and-permissions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import LifecycleStage
from surveys.models import Campaign, Invitation
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    UserFactory,
)

RESULTS = "/surveys/"
NEW = "/surveys/campaigns/new/"


def test_anonymous_is_sent_to_login(anonymous):
    for url in (RESULTS, NEW, "/surveys/comments/"):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert "/login" in response["Location"]


@pytest.mark.parametrize("client_name", ["csm_client", "manager_client", "admin_client"])
def test_results_page_for_every_role(request, client_name, customer):
    contact = ContactFactory(customer=customer)
    ResponseFactory(contact=contact, score=2, comment="Reports are too slow.")
    ResponseFactory(contact=contact, kind="csat", score=5)
    response = request.getfixturevalue(client_name).get(RESULTS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reports are too slow." in html
    assert 'id="survey-months"' in html
    assert ("New campaign" in html) == (client_name != "csm_client")


def test_results_tiles_show_scores(csm_client, customer):
    for score in (10, 10, 0):
        ResponseFactory(contact=ContactFactory(customer=customer), score=score)
    response = csm_client.get(RESULTS)
    tiles = response.context["tiles"]
    assert [(t["kind"], t["score"].score, t["score"].responses) for t in tiles] == [
        ("nps", 33.33, 3),
        ("csat", None, 0),
        ("ces", None, 0),
    ]


def test_results_chart_has_every_month_with_gaps_where_nobody_answered(csm_client, customer):
    contact = ContactFactory(customer=customer)
    ResponseFactory(contact=contact, score=10, answered_at=timezone.now() - dt.timedelta(days=200))
    ResponseFactory(contact=ContactFactory(customer=customer), score=0)
    chart = csm_client.get(RESULTS).context["chart"]
    today = timezone.localdate()
    assert len(chart["labels"]) == 12  # the 12 months of the period, answered or not
    assert chart["labels"][-1] == today.strftime("%b %Y")
    assert chart["nps"][-1] == -100
    assert chart["nps"].count(None) == 10
    old = (timezone.now() - dt.timedelta(days=200)).strftime("%b %Y")
    assert chart["nps"][chart["labels"].index(old)] == 100


def test_comments_feed_filters_by_band_segment_and_csm(csm_client, customer, other_customer):
    ResponseFactory(contact=ContactFactory(customer=customer), score=1, comment="Detractor at Northwind")
    ResponseFactory(contact=ContactFactory(customer=customer), score=10, comment="Promoter at Northwind")
    ResponseFactory(contact=ContactFactory(customer=other_customer), score=3, comment="Detractor at Southpaw")
    ResponseFactory(contact=ContactFactory(customer=customer), kind="csat", score=2, comment="Unhappy CSAT")

    def feed(**params) -> str:
        return csm_client.get("/surveys/comments/", params).content.decode()

    negative = feed(band="negative")
    assert "Detractor at Northwind" in negative
    assert "Detractor at Southpaw" in negative
    assert "Unhappy CSAT" in negative
    assert "Promoter at Northwind" not in negative
    assert "Unhappy CSAT" not in feed(band="negative", kind="nps")
    smb = feed(segment="SMB")
    assert "Detractor at Southpaw" in smb
    assert "Northwind" not in smb
    other = feed(csm=str(other_customer.csm_id))
    assert "Detractor at Southpaw" in other
    assert "Northwind" not in other


def test_comments_feed_htmx_returns_only_the_partial(csm_client, customer):
    ResponseFactory(contact=ContactFactory(customer=customer), score=1, comment="Slow support")
    response = csm_client.get("/surveys/comments/", {"band": "negative"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Slow support" in html
    assert "<html" not in html
    assert response["Vary"].find("HX-Request") >= 0


def test_bad_filter_values_are_ignored(csm_client, customer):
    assert csm_client.get(RESULTS, {"months": "abc", "csm": "999999", "band": "weird"}).status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_results_page_query_count_is_constant(csm_client, size, django_assert_max_num_queries):
    csm = UserFactory()
    for i in range(size):
        customer = CustomerFactory(csm=csm, segment=f"Seg{i % 3}")
        contact = ContactFactory(customer=customer)
        ResponseFactory(contact=contact, score=i % 11, comment=f"comment {i}")
        ResponseFactory(contact=contact, kind="csat", score=1 + i % 5)
        ResponseFactory(
            contact=contact, kind="ces", score=1 + i % 7, answered_at=timezone.now() - dt.timedelta(days=40)
        )
        InvitationFactory(contact=contact, campaign=CampaignFactory())
    with django_assert_max_num_queries(22):
        assert csm_client.get(RESULTS).status_code == 200
    with django_assert_max_num_queries(8):
        assert csm_client.get("/surveys/comments/").status_code == 200


def test_csm_cannot_open_the_campaign_form(csm_client):
    assert csm_client.get(NEW).status_code == 403
    assert csm_client.post(NEW, {"kind": "nps", "action": "send"}).status_code == 403


def test_manager_previews_then_sends(manager_client, customer, django_capture_on_commit_callbacks):
    ContactFactory(customer=customer, email="ok@northwind.example")
    ContactFactory(customer=customer, email="gone@northwind.example", unsubscribed_at=timezone.now())
    churned = CustomerFactory(csm=customer.csm, lifecycle_stage=LifecycleStage.CHURNED, name="Gone Corp")
    form = manager_client.get(NEW)
    assert form.status_code == 200
    picked = {"kind": "nps", "customers": [customer.pk, churned.pk]}
    preview = manager_client.post(NEW, {**picked, "action": "preview"})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "ok@northwind.example" in html
    assert "Unsubscribed" in html
    assert "Customer churned" in html
    assert "Send to 1 contact" in html
    assert Campaign.objects.count() == 0  # a preview writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        sent = manager_client.post(NEW, {**picked, "action": "send"})
    campaign = Campaign.objects.get()
    assert sent.status_code == 302
    assert sent["Location"] == reverse("surveys:campaign_detail", kwargs={"pk": campaign.pk})
    assert [m.to for m in mail.outbox] == [["ok@northwind.example"]]
    detail = manager_client.get(sent["Location"])
    assert "ok@northwind.example" in detail.content.decode()
    assert detail.context["counts"]["total"] == 1


def test_manager_selects_by_segment_within_their_teams_only(
    manager_client, customer, other_customer, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer)
    ContactFactory(customer=other_customer)
    other_customer.segment = customer.segment
    other_customer.save()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(NEW, {"kind": "csat", "segment": customer.segment, "action": "send"})
    assert list(Invitation.objects.values_list("customer_id", flat=True)) == [customer.pk]


def test_manager_cannot_pick_another_teams_customer(manager_client, other_customer):
    ContactFactory(customer=other_customer)
    response = manager_client.post(NEW, {"kind": "nps", "customers": [other_customer.pk], "action": "send"})
    assert response.status_code == 400
    assert "customers" in response.context["form"].errors
    assert Invitation.objects.count() == 0


def test_campaign_picker_is_a_searchable_list_of_tick_boxes_that_keeps_picks(manager_client, customer):
    page = manager_client.get(NEW).content.decode()
    assert "<select multiple" not in page
    assert 'name="customers" multiple' not in page
    assert f'type="checkbox" name="customers" value="{customer.pk}"' in page
    assert "data-picker-search" in page
    assert "surveys/picker" in page
    again = manager_client.post(NEW, {"customers": [customer.pk], "action": "preview"}).content.decode()
    assert f'type="checkbox" name="customers" value="{customer.pk}"' in again
    assert "1 picked" in again  # a form shown again (here without a kind) keeps the picks and says how many


def test_campaign_form_rejects_missing_kind(manager_client, customer):
    response = manager_client.post(NEW, {"customers": [customer.pk], "action": "preview"})
    assert response.status_code == 400
    assert "kind" in response.context["form"].errors


def test_customer_page_panel_shows_latest_answer_per_contact(csm_client, customer):
    contact = ContactFactory(customer=customer, name="Pat Doe", email="pat@northwind.example")
    ResponseFactory(contact=contact, score=3, answered_at=timezone.now() - dt.timedelta(days=50))
    ResponseFactory(contact=contact, score=9, comment="Much better since the upgrade.")
    response = csm_client.get(customer.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Pat Doe" in html
    assert "Much better since the upgrade." in html
    panel = next(p for p in response.context["panels"] if p.title == "Surveys")
    assert [cell["score"] if cell else None for cell in panel.context["contacts"][0]["cells"]] == [
        9,
        None,
        None,
    ]


def test_a_question_typed_on_several_lines_is_sent_as_one(
    manager_client, customer, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer, email="ok@northwind.example")
    with django_capture_on_commit_callbacks(execute=True):
        sent = manager_client.post(
            NEW,
            {
                "kind": "nps",
                "customers": [customer.pk],
                "question": "Would you\r\nrecommend us?",
                "action": "send",
            },
        )
    assert sent.status_code == 302
    assert Campaign.objects.get().question == "Would you recommend us?"
    assert mail.outbox[0].subject.endswith("Would you recommend us?")
