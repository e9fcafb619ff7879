"""The nightly path: recompute_health (metrics) → the after-recompute hook → trigger evaluation → runs, with
the starter library every install ships."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command
from django.utils import timezone

from playbooks.models import Playbook, Run, Trigger
from playbooks.starter import STARTER, playbooks_install_starter
from tests.factories import CustomerFactory, PulseFactory, TicketFactory, UserFactory
from tests.metrics.health.conftest import usage


def struggling_customer(csm, day: dt.date):
    """Little usage for its licenses, a poor pulse and an urgent ticket: red on the day's recompute."""
    customer = CustomerFactory(name="Struggling Co", csm=csm, licenses=10)
    for back in range(0, 60, 3):
        usage(customer, users=1 if back < 30 else 6, day=day - dt.timedelta(days=back))
    noon = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=2), dt.time(12)))
    PulseFactory(customer=customer, score=2, created_at=noon)
    TicketFactory(customer=customer, priority="urgent", opened_at=noon - dt.timedelta(days=7))
    return customer


def test_starter_library_installs_once():
    assert playbooks_install_starter() == len(STARTER) == 5
    assert playbooks_install_starter() == 0
    names = set(Playbook.objects.values_list("name", flat=True))
    assert names == {
        "Red-health rescue",
        "Detractor follow-up",
        "Renewal preparation",
        "Onboarding",
        "Usage drop",
    }
    assert all(Playbook.objects.values_list("enabled", flat=True))
    assert Trigger.objects.get(playbook__name="Renewal preparation").params == {"days": 90}
    assert Trigger.objects.get(playbook__name="Red-health rescue").params == {"band": "red"}


def test_starter_install_keeps_user_edits():
    playbooks_install_starter()
    Playbook.objects.filter(starter_key="onboarding").update(name="Our onboarding", enabled=False)
    assert playbooks_install_starter() == 0
    assert Playbook.objects.get(starter_key="onboarding").name == "Our onboarding"


def test_recompute_health_starts_the_red_health_rescue(csm, django_capture_on_commit_callbacks):
    playbooks_install_starter()
    day = timezone.localdate()
    customer = struggling_customer(csm, day)
    UserFactory(email="bystander@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recompute_health", "--date", day.isoformat())
    run = Run.objects.get(customer=customer, playbook__starter_key="red_health_rescue")
    assert run.assignee == csm
    assert run.reason.startswith("Health entered red")
    assert run.tasks.count() == 4
    # The nightly job again (same day): nothing new.
    call_command("recompute_health", "--date", day.isoformat())
    assert Run.objects.filter(customer=customer, playbook__starter_key="red_health_rescue").count() == 1


def test_evaluate_triggers_command(csm, capsys):
    playbooks_install_starter()
    CustomerFactory(csm=csm, renewal_date=timezone.localdate() + dt.timedelta(days=30))
    call_command("evaluate_triggers")
    out = capsys.readouterr().out
    assert "Renewal preparation: renewal_due: 1 started" in out
    call_command("evaluate_triggers", "--fast")
    assert Run.objects.count() == 1
