"""The health card on the customer page and the model editor (managers/admins only, preview, save)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from metrics.health.factors import load
from metrics.health.panels import customer_panels as health_panels
from metrics.health.services import health_model_current, health_recompute
from metrics.models import HealthModel, HealthSnapshot
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, TouchpointFactory

from .conftest import at, usage, v1_model

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
URL = "/health/model/"


def declining(customer, days: int = 10, *, peer: bool = True) -> None:
    """Usage high a week ago, low now: license utilization falls, and 'what moved' says so."""
    customer.licenses = 60
    customer.save()
    PulseFactory(customer=customer, score=3, created_at=at(TODAY - dt.timedelta(days=days + 1)))
    TouchpointFactory(customer=customer, occurred_at=at(TODAY - dt.timedelta(days=days + 1)))
    usage(customer, users=42, day=TODAY - dt.timedelta(days=40), prefix="old")  # before both windows
    # another customer's usage: the install has a usage feed on every day below (else the usage factors are
    # missing for everyone, docs/health.md#missing-is-not-perfect)
    if peer:
        usage(CustomerFactory(), users=1, day=TODAY - dt.timedelta(days=days), prefix="peer")
    for back in range(days, -1, -1):
        day = TODAY - dt.timedelta(days=back)
        if back == 7:
            usage(customer, users=42, day=day - dt.timedelta(days=29), prefix="w")
        health_recompute(day=day)


def test_customer_page_shows_health_card_with_what_moved(csm_client, customer):
    declining(customer)
    html = csm_client.get(customer.get_absolute_url()).content.decode()
    snap = HealthSnapshot.objects.get(customer=customer, date=TODAY)
    assert 'data-testid="health-score"' in html
    assert str(snap.score) in html
    assert 'data-testid="health-components"' in html
    assert "License utilization" in html
    assert "Active users fell from 42 to 0 of 60 licenses" in html
    assert "health-chart-data" in html


def test_customer_page_without_snapshots_says_so(csm_client, customer):
    html = csm_client.get(customer.get_absolute_url()).content.decode()
    assert "No health score yet" in html


@pytest.mark.parametrize("size", [2, 12])
def test_health_card_queries_are_constant(csm_client, csm, size, django_assert_num_queries):
    customer = CustomerFactory(csm=csm)
    declining(customer, days=size)

    with django_assert_num_queries(2):  # the snapshots, and whether a change waits for the live recompute
        panels = health_panels(customer=customer, user=csm)
    assert panels[0].context["summary"].snapshot.date == TODAY


def test_csm_cannot_open_or_post_the_model_editor(csm_client):
    models = HealthModel.objects.count()
    assert csm_client.get(URL).status_code == 403
    response = csm_client.post(URL, {"action": "save", "note": "x"})
    assert response.status_code == 403
    assert HealthModel.objects.count() == models


def test_anonymous_is_sent_to_login(anonymous):
    response = anonymous.get(URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def form_data(model: HealthModel, **changes) -> dict[str, str]:
    data = {
        "green": str(model.green_threshold),
        "yellow": str(model.yellow_threshold),
        "margin": str(model.hysteresis_margin),
        "note": "",
    }
    for f in model.factors.all():
        data[f"{f.key}-weight"] = str(f.weight)
        data[f"{f.key}-bad"] = str(f.bad)
        data[f"{f.key}-good"] = str(f.good)
        if f.enabled:
            data[f"{f.key}-enabled"] = "on"
    for key, factor in load().items():  # registered factors the model lacks: the editor shows them off
        if f"{key}-weight" not in data:
            data[f"{key}-weight"] = str(factor.default_weight)
            data[f"{key}-bad"] = str(factor.default_bad)
            data[f"{key}-good"] = str(factor.default_good)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("who", ["manager_client", "admin_client"])
def test_managers_and_admins_preview_without_saving(request, who, csm):
    client = request.getfixturevalue(who)
    customer = CustomerFactory(csm=csm)
    declining(customer, days=1, peer=False)  # the one customer scored
    model = health_model_current()
    assert client.get(URL).status_code == 200
    before = HealthSnapshot.objects.get(customer=customer, date=TODAY)
    response = client.post(URL, form_data(model, green="99", action="preview"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="health-preview"' in html
    preview = response.context["job"].preview
    assert preview.customers == 1
    assert preview.before_bands.get(before.band) == 1
    assert HealthModel.objects.current() == model  # nothing saved


def test_preview_lists_customers_changing_band(manager_client, csm):
    green = CustomerFactory(csm=csm, name="Greenfield", licenses=10)
    usage(green, users=10, day=TODAY)
    PulseFactory(customer=green, score=5, created_at=at(TODAY))
    # A ticket feed, none open (docs/health.md#missing-is-not-perfect): support load 0, full marks.
    TicketFactory(customer=green, opened_at=at(TODAY - dt.timedelta(days=5)), resolved_at=at(TODAY))
    model = v1_model()  # the weights the numbers below assume
    # Today: utilization, support load and pulse at full marks -> 100, green. Proposed: pulse 5 is worth
    # 0 points and weighs 50 -> (20 * 100 + 15 * 100 + 50 * 0) / 85 = 41.2, yellow.
    response = manager_client.post(
        URL,
        form_data(model, **{"pulse-bad": "5", "pulse-good": "10", "pulse-weight": "50", "action": "preview"}),
    )
    preview = response.context["job"].preview
    assert preview.before_bands == {"green": 1}
    assert preview.after_bands == {"yellow": 1}
    assert preview.changed_count == 1
    assert preview.after_mean == 41.2
    assert "Greenfield" in response.content.decode()
    assert preview.changes[0].name == "Greenfield"
    assert sum(preview.after_histogram) == 1


def test_editor_note_is_labelled_required_to_save_not_optional(manager_client):
    page = manager_client.get(URL).content.decode()
    label = page[page.index('<label for="id_note">') :]
    label = label[: label.index("</label>")]
    assert "(required to save)" in label
    assert "(optional)" not in label
    refused = manager_client.post(URL, form_data(health_model_current(), note="", action="save"))
    assert "Say why" in refused.content.decode()


def test_save_creates_a_version_with_note_and_user(manager_client, manager):
    model = health_model_current()
    nps_before = float(model.factors.get(key="nps").weight)
    response = manager_client.post(
        URL, form_data(model, **{"nps-weight": "30", "note": "NPS matters more", "action": "save"})
    )
    assert response.status_code == 302
    new = health_model_current()
    assert (new.version, new.note, new.created_by) == (model.version + 1, "NPS matters more", manager)
    assert float(new.factors.get(key="nps").weight) == 30
    assert float(model.factors.get(key="nps").weight) == nps_before  # the old version is untouched


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"green": "30", "yellow": "40"}, "green"),
        ({"pulse-bad": "3", "pulse-good": "3"}, "pulse-good"),
        ({"nps-weight": "-1"}, "nps-weight"),
        ({"green": "abc"}, "green"),
        ({"note": ""}, "note"),
    ],
)
def test_bad_input_shows_errors_and_saves_nothing(manager_client, changes, field):
    model = health_model_current()
    data = form_data(model, **{"note": "x", "action": "save", **changes})
    response = manager_client.post(URL, data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert HealthModel.objects.current() == model


def test_all_factors_off_is_refused(manager_client):
    model = health_model_current()
    data = {k: v for k, v in form_data(model, note="x", action="save").items() if not k.endswith("-enabled")}
    response = manager_client.post(URL, data)
    assert response.context["form"].non_field_errors()
    assert HealthModel.objects.current() == model


def test_chart_marks_model_version_changes(csm, manager):
    from decimal import Decimal

    from metrics.health.services import health_model_create

    customer = CustomerFactory(csm=csm)
    declining(customer, days=3)
    v1 = health_model_current()
    stricter = health_model_create(
        factors=[
            {"key": f.key, "weight": f.weight, "bad": f.bad, "good": f.good, "enabled": True}
            for f in v1.factors.all()
        ],
        green=Decimal(75),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="Stricter green",
        user=manager,
    )
    health_recompute(day=TODAY)
    chart = health_panels(customer=customer, user=csm)[0].context["chart"]
    assert chart["markers"] == [{"index": 3, "label": f"Model v{stricter.version}", "note": "Stricter green"}]
    assert chart["green"] == 75.0
    assert len(chart["labels"]) == 4
