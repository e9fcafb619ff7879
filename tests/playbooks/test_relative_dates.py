"""Relative dates are computed when a page renders, never stored in text (docs/playbooks.md#relative-dates):
a run started today for a renewal in 21 days says "in 20 days" on the pages rendered tomorrow, and its
stored reason and email say the date."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from playbooks.models import Run
from tests.factories import CustomerFactory

from .conftest import evaluate, make_playbook, runs_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def renewal_run(csm):
    playbook, trigger = make_playbook(
        "Renewal prep", condition="renewal_due", params={"days": 90}, cooldown=0
    )
    today = timezone.localdate()
    customer = CustomerFactory(csm=csm, name="Renewco", renewal_date=today + dt.timedelta(days=21))
    assert evaluate(trigger) == 1
    return runs_for(playbook, customer).get()


def test_the_stored_reason_says_the_date_only(renewal_run):
    renewal = (timezone.localdate() + dt.timedelta(days=21)).isoformat()
    assert renewal_run.reason == f"Renewal on {renewal}"
    assert "days" not in renewal_run.reason
    assert "days_to_renewal" not in renewal_run.reason_values["values"]


def test_pages_rendered_tomorrow_count_from_tomorrow(renewal_run, csm_client):
    run_url = reverse("playbooks:run", args=[renewal_run.pk])
    today = timezone.localdate()
    assert "renewal in 21 days" in csm_client.get(run_url).content.decode()
    tomorrow = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(10)))
    with time_machine.travel(tomorrow, tick=False):
        run_page = csm_client.get(run_url).content.decode()
        inbox = csm_client.get(reverse("playbooks:inbox")).content.decode()
        customer_page = csm_client.get(renewal_run.customer.get_absolute_url()).content.decode()
    for html in (run_page, inbox, customer_page):
        assert "renewal in 20 days" in html
        assert "in 21 days" not in html
    assert "started yesterday" in customer_page or "(yesterday)" in run_page


def test_the_email_says_the_date(renewal_run, csm):
    from playbooks.services import runs_email

    message = runs_email(user=csm, runs=[renewal_run])
    text = message.body
    renewal = (timezone.localdate() + dt.timedelta(days=21)).isoformat()
    assert f"Why: Renewal on {renewal}" in text
    assert "in 21 days" not in text


def test_the_migration_rewrites_frozen_reasons(renewal_run, csm):
    silent = CustomerFactory(csm=csm)
    old = Run.objects.create(
        playbook=renewal_run.playbook,
        customer=silent,
        assignee=csm,
        reason="No touchpoint for 46 days (last on 2026-10-02)",
        status="done",
    )
    Run.objects.filter(pk=renewal_run.pk).update(reason="Renewal on 2026-12-28, in 66 days")
    migration = importlib.import_module("playbooks.migrations.0003_reasons_say_dates")
    from django.apps import apps

    migration.forwards(apps, None)
    assert Run.objects.get(pk=renewal_run.pk).reason == "Renewal on 2026-12-28"
    assert Run.objects.get(pk=old.pk).reason == "No touchpoint since 2026-10-02"
