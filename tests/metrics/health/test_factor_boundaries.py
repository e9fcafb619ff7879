"""Factors read other apps only through those apps' selectors (issue 5, docs/health.md), and those selectors
answer for exactly the customers asked for, whether the ids are read as a range or as a list."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.selectors import (
    last_touchpoint_day_by_customer,
    latest_pulse_by_customer,
    licenses_by_customer,
)
from tests.factories import CustomerFactory, PulseFactory, TouchpointFactory

FACTORS = Path(__file__).resolve().parents[3] / "metrics" / "health" / "factors"
OTHER_APPS = ("accounts", "surveys", "playbooks")


def test_factors_import_no_other_apps_models():
    offenders = []
    for path in sorted(FACTORS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                app = node.module.split(".")[0]
                if app in OTHER_APPS and node.module != f"{app}.selectors":
                    offenders.append(f"{path.name}: from {node.module} import …")
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{path.name}: import {a.name}" for a in node.names if a.name.startswith(OTHER_APPS)
                ]
    assert offenders == []


@pytest.mark.django_db
def test_accounts_readings_keep_only_the_customers_asked_for():
    now = timezone.now()
    customers = [CustomerFactory(licenses=10 * (i + 1)) for i in range(5)]
    for i, c in enumerate(customers):
        PulseFactory(customer=c, score=1 + i % 5)
        TouchpointFactory(customer=c, occurred_at=now - dt.timedelta(days=i + 1))
    since, until = now - dt.timedelta(days=60), now + dt.timedelta(seconds=1)
    for asked in (
        [customers[0].pk, customers[2].pk, customers[4].pk],
        [customers[1].pk, customers[1].pk + 10**6],
    ):
        wanted = {pk for pk in asked if pk in {c.pk for c in customers}}
        pulses = latest_pulse_by_customer(customer_ids=asked, since=since, until=until)
        touches = last_touchpoint_day_by_customer(customer_ids=asked, until=until)
        seats = licenses_by_customer(customer_ids=asked)
        assert set(pulses) == set(touches) == set(seats) == wanted
        for c in customers:
            if c.pk in wanted:
                i = customers.index(c)
                assert pulses[c.pk] == (1 + i % 5, timezone.localdate(c.pulses.get().created_at))
                assert touches[c.pk] == timezone.localdate(now - dt.timedelta(days=i + 1))
                assert seats[c.pk] == 10 * (i + 1)
