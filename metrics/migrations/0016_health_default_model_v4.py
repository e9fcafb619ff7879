"""The default health model v4 of docs/health.md, installed as a NEW version: v3's factors, weights and
anchors with green from 64 instead of 70 (yellow 40 and the leave margin 3 unchanged).

Why: measured daily with the leave margin on two simulated populations (bench/bench_health_model.py), v3's
green at 70 put 27-34 % of the scored customer-days in red or yellow, more than a CS team can look at; from
64 it is 19-23 %, and 43-45 % of the customers who left (and paid 30 days before) were red or yellow 30
days before leaving (docs/health.md#the-default-model). Only when the version in force is exactly the shipped v3 (the same factors,
weights, anchors and thresholds as 0014_health_default_model_v3 created): an install that edited its model
keeps its own. History keeps v1-v3, and snapshots keep pointing at the version that computed them. Reverse:
deletes the version this migration created, unless a snapshot uses it.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import import_module

from django.db import migrations

NOTE = "Default model v4 (docs/health.md)"

# v3 as 0014 shipped it: its factors and thresholds are v4's factors and what "untouched" means
V3 = import_module("metrics.migrations.0014_health_default_model_v3")
V3_FACTORS = V3.V3_FACTORS

V3_THRESHOLDS = V3.THRESHOLDS  # green, yellow, margin
V4_THRESHOLDS = (Decimal(64), Decimal(40), Decimal(3))


def is_shipped_v3(model, factors) -> bool:
    thresholds = (model.green_threshold, model.yellow_threshold, model.hysteresis_margin)
    have = sorted((f.key, Decimal(f.weight), float(f.bad), float(f.good), f.enabled) for f in factors)
    shipped = sorted((k, Decimal(w), float(b), float(g), True) for k, w, b, g in V3_FACTORS)
    return thresholds == V3_THRESHOLDS and have == shipped


def install_v4(apps, schema_editor):
    HealthModel = apps.get_model("metrics", "HealthModel")
    HealthFactor = apps.get_model("metrics", "HealthFactor")
    current = HealthModel.objects.order_by("-version").first()
    if current is None or not is_shipped_v3(current, HealthFactor.objects.filter(model=current)):
        return  # an edited model stays in force (and an empty database gets the default on first use)
    model = HealthModel.objects.create(
        version=current.version + 1,
        note=NOTE,
        green_threshold=V4_THRESHOLDS[0],
        yellow_threshold=V4_THRESHOLDS[1],
        hysteresis_margin=V4_THRESHOLDS[2],
    )
    HealthFactor.objects.bulk_create(
        HealthFactor(model=model, key=key, weight=weight, bad=bad, good=good, enabled=True, position=i)
        for i, (key, weight, bad, good) in enumerate(V3_FACTORS)
    )


def remove_v4(apps, schema_editor):
    apps.get_model("metrics", "HealthModel").objects.filter(note=NOTE, snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0015_renewal_forecast")]

    operations = [migrations.RunPython(install_v4, remove_v4)]
