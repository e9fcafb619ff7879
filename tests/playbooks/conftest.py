"""Playbook test fixtures: no starter library in the way, health snapshots on demand, a real SMTP server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from metrics.health.engine import band_with_hysteresis
from metrics.health.services import health_model_create
from metrics.models import HealthModel, HealthSnapshot
from playbooks.evaluation import trigger_evaluate
from playbooks.models import Playbook, Run, Step, Trigger
from tests.surveys.conftest import Recorder, free_port


@pytest.fixture(autouse=True)
def _no_starter_library(db):
    """The migration installs the starter library; tests set up exactly the playbooks they talk about."""
    Playbook.objects.all().delete()


@pytest.fixture
def health_model(db) -> HealthModel:
    model = HealthModel.objects.current()
    if model is None:  # flushed by a transactional test
        model = health_model_create(factors=[], green=Decimal(70), yellow=Decimal(40), margin=Decimal(3))
    return model


def snapshot(
    customer, day: dt.date, score: float | None, band: str | None = None, *, model=None
) -> HealthSnapshot:
    """A snapshot for (customer, day); without `band`, the band follows the health model's hysteresis from the
    previous day's snapshot, as the nightly recompute does."""
    model = model or HealthModel.objects.current()
    if band is None:
        previous = (
            HealthSnapshot.objects.filter(customer=customer, date=day - dt.timedelta(days=1))
            .values_list("band", flat=True)
            .first()
        )
        band = band_with_hysteresis(
            score,
            previous=previous,
            green=float(model.green_threshold),
            yellow=float(model.yellow_threshold),
            margin=float(model.hysteresis_margin),
        )
    snap, _ = HealthSnapshot.objects.update_or_create(
        customer=customer,
        date=day,
        defaults={"score": None if score is None else Decimal(str(score)), "band": band, "model": model},
    )
    return snap


def make_playbook(
    name: str = "Rescue", *, steps: int = 2, condition: str | None = None, params=None, cooldown=30
):
    playbook = Playbook.objects.create(name=name, purpose="Test playbook.")
    for i in range(1, steps + 1):
        Step.objects.create(playbook=playbook, order=i, title=f"{name} step {i}", due_after_days=i * 2)
    trigger = None
    if condition:
        trigger = Trigger.objects.create(
            playbook=playbook, condition=condition, params=params or {}, cooldown_days=cooldown
        )
    return playbook, trigger


def evaluate(trigger: Trigger, *, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Evaluate one trigger (fresh from the database, as each sweep reads it); returns the runs it started."""
    trigger = Trigger.objects.select_related("playbook").get(pk=trigger.pk)
    now = now or timezone.now()
    return trigger_evaluate(trigger, today=today or timezone.localdate(now), now=now)[1]


def runs_for(playbook, customer=None):
    qs = Run.objects.filter(playbook=playbook)
    return qs.filter(customer=customer) if customer is not None else qs


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free port; Django's SMTP backend points at it."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield recorder
    finally:
        controller.stop()


def text_of_plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def text_of_html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
