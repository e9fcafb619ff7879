"""Default models v2, v3 and v4 (docs/health.md#the-default-model): migrations 0010, 0014 and 0016 install
them as new versions over the shipped v1, v2 and v3 only; the customer page and the model editor show their
new factors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from metrics.health.services import DEFAULT_FACTORS, DEFAULT_THRESHOLDS, health_model_create, health_recompute
from metrics.models import HealthModel, HealthSnapshot
from metrics.services import mrr_ledger_relink
from tests.factories import CustomerFactory, MrrEntryFactory, PulseFactory

from .conftest import V1_FACTORS, at, usage

pytestmark = pytest.mark.django_db

MIGRATION = import_module("metrics.migrations.0010_health_default_model_v2")
V3 = import_module("metrics.migrations.0014_health_default_model_v3")
V4 = import_module("metrics.migrations.0016_health_default_model_v4")
TODAY = timezone.localdate()


def factors_of(model: HealthModel) -> list[tuple[str, float, float, float]]:
    return [(f.key, float(f.weight), f.bad, f.good) for f in model.factors.order_by("position")]


def test_fresh_database_runs_v4_and_keeps_v3_v2_and_v1_in_history():
    current = HealthModel.objects.current()
    assert factors_of(current) == [(k, float(w), b, g) for k, w, b, g in DEFAULT_FACTORS]
    assert factors_of(current) == [(k, float(w), b, g) for k, w, b, g in V3.V3_FACTORS]
    assert sum(w for _, w, _, _ in DEFAULT_FACTORS) == 100
    assert (current.green_threshold, current.yellow_threshold, current.hysteresis_margin) == (64, 40, 3)
    assert (
        current.green_threshold,
        current.yellow_threshold,
        current.hysteresis_margin,
    ) == DEFAULT_THRESHOLDS
    v3 = HealthModel.objects.get(version=current.version - 1)
    assert factors_of(v3) == factors_of(current)
    assert (v3.green_threshold, v3.yellow_threshold, v3.hysteresis_margin) == (70, 40, 3)
    v2 = HealthModel.objects.get(version=current.version - 2)
    assert factors_of(v2) == [(k, float(w), b, g) for k, w, b, g in MIGRATION.V2_FACTORS]
    v1 = HealthModel.objects.get(version=current.version - 3)
    assert factors_of(v1) == [(k, float(w), b, g) for k, w, b, g in V1_FACTORS]
    assert sum(w for _, w, _, _ in V1_FACTORS) == 100


def test_migration_installs_v2_over_the_shipped_v1():
    HealthModel.objects.filter(
        note__in=[MIGRATION.NOTE, V3.NOTE, V4.NOTE]
    ).delete()  # as before 0010: v1 in force
    v1 = HealthModel.objects.current()
    MIGRATION.install_v2(apps, None)
    current = HealthModel.objects.current()
    assert current.version == v1.version + 1
    assert factors_of(current) == [(k, float(w), b, g) for k, w, b, g in MIGRATION.V2_FACTORS]


def test_an_edited_model_stays_in_force():
    HealthModel.objects.filter(note__in=[MIGRATION.NOTE, V3.NOTE, V4.NOTE]).delete()
    edited = health_model_create(
        factors=[
            {"key": k, "weight": w + 5 if k == "nps" else w, "bad": b, "good": g, "enabled": True}
            for k, w, b, g in V1_FACTORS
        ],
        green=Decimal(70),
        yellow=Decimal(40),
        margin=Decimal(3),
        note="NPS matters more",
    )
    MIGRATION.install_v2(apps, None)
    assert HealthModel.objects.current() == edited
    assert not HealthModel.objects.filter(note=MIGRATION.NOTE).exists()


def test_migration_installs_v3_over_the_shipped_v2_only():
    HealthModel.objects.filter(note__in=[V3.NOTE, V4.NOTE]).delete()  # as before 0014: v2 in force
    v2 = HealthModel.objects.current()
    V3.install_v3(apps, None)
    current = HealthModel.objects.current()
    assert current.version == v2.version + 1
    assert factors_of(current) == [(k, float(w), b, g) for k, w, b, g in V3.V3_FACTORS]
    # an edited v2 stays in force
    HealthModel.objects.filter(note=V3.NOTE).delete()
    factor = v2.factors.get(key="nps")
    factor.weight += 1
    factor.save()
    V3.install_v3(apps, None)
    assert HealthModel.objects.current() == v2
    # reverse: deletes v3 unless a snapshot uses it
    factor.weight -= 1
    factor.save()
    V3.install_v3(apps, None)
    v3 = HealthModel.objects.get(note=V3.NOTE)
    HealthSnapshot.objects.create(customer=CustomerFactory(), date=TODAY, score=50, band="yellow", model=v3)
    V3.remove_v3(apps, None)
    assert HealthModel.objects.filter(pk=v3.pk).exists()
    HealthSnapshot.objects.all().delete()
    V3.remove_v3(apps, None)
    assert HealthModel.objects.current() == v2


def test_migration_installs_v4_over_the_shipped_v3_only():
    HealthModel.objects.filter(note=V4.NOTE).delete()  # as before 0016: v3 in force
    v3 = HealthModel.objects.current()
    V4.install_v4(apps, None)
    current = HealthModel.objects.current()
    assert current.version == v3.version + 1
    assert factors_of(current) == factors_of(v3)
    assert (current.green_threshold, current.yellow_threshold, current.hysteresis_margin) == (64, 40, 3)
    # an edited v3 (here its green threshold) stays in force
    HealthModel.objects.filter(note=V4.NOTE).delete()
    v3.green_threshold = Decimal(72)
    v3.save()
    V4.install_v4(apps, None)
    assert HealthModel.objects.current() == v3
    # reverse: deletes v4 unless a snapshot uses it
    v3.green_threshold = Decimal(70)
    v3.save()
    V4.install_v4(apps, None)
    v4 = HealthModel.objects.get(note=V4.NOTE)
    HealthSnapshot.objects.create(customer=CustomerFactory(), date=TODAY, score=50, band="yellow", model=v4)
    V4.remove_v4(apps, None)
    assert HealthModel.objects.filter(pk=v4.pk).exists()
    HealthSnapshot.objects.all().delete()
    V4.remove_v4(apps, None)
    assert HealthModel.objects.current() == v3


def test_reverse_deletes_v2_unless_a_snapshot_uses_it():
    HealthModel.objects.filter(note__in=[V3.NOTE, V4.NOTE]).delete()
    v2 = HealthModel.objects.get(note=MIGRATION.NOTE)
    HealthSnapshot.objects.create(customer=CustomerFactory(), date=TODAY, score=50, band="yellow", model=v2)
    MIGRATION.remove_v2(apps, None)
    assert HealthModel.objects.filter(pk=v2.pk).exists()
    HealthSnapshot.objects.all().delete()
    MIGRATION.remove_v2(apps, None)
    assert not HealthModel.objects.filter(pk=v2.pk).exists()
    assert HealthModel.objects.current().version == v2.version - 1


def test_customer_page_shows_the_new_factors(csm_client, customer):
    customer.licenses = 10
    customer.save()
    MrrEntryFactory(customer=customer, effective_date=TODAY - dt.timedelta(days=200), mrr=1000)
    MrrEntryFactory(customer=customer, effective_date=TODAY - dt.timedelta(days=3), mrr=700)
    mrr_ledger_relink()
    PulseFactory(customer=customer, score=4, created_at=at(TODAY - dt.timedelta(days=8)))
    usage(customer, users=5, day=TODAY - dt.timedelta(days=1))
    for back in (7, 0):
        health_recompute(day=TODAY - dt.timedelta(days=back))
    html = csm_client.get(customer.get_absolute_url()).content.decode()
    assert "Relative usage" in html
    assert "50th percentile of all customers (5 events, 0.5 per license)" in html
    assert "Revenue trend" in html
    assert "0.70x ($700 vs $1,000 90 days before)" in html
    assert "MRR fell from $1,000 to $700 over 90 days" in html


def test_model_editor_lists_the_new_factors(manager_client):
    html = manager_client.get("/health/model/").content.decode()
    for key in ("relative_usage", "revenue_trend"):
        assert f'name="{key}-weight"' in html
    assert "Relative usage" in html
    assert "Revenue trend" in html
    assert "MRR today ÷ MRR 90 days ago" in html
