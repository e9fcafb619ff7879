"""The default health model v2 of docs/health.md, installed as a NEW version (weights sum to 100).

Only when the version in force is exactly the shipped v1 (the same factors, weights, anchors and thresholds as
0004_health_default_model created): an install that edited its model keeps its own, and nothing changes for it.
History keeps v1, and snapshots keep pointing at the version that computed them. Reverse: deletes the version
this migration created, unless a snapshot uses it.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import migrations

NOTE = "Default model v2 (docs/health.md)"

V1_FACTORS = [
    # key, weight, bad, good
    ("license_utilization", 20, 0.0, 0.8),
    ("usage_trend", 10, 0.5, 1.0),
    ("feature_breadth", 10, 0.0, 0.8),
    ("support_load", 15, 5.0, 0.0),
    ("nps", 15, -100.0, 100.0),
    ("csat", 5, 0.0, 100.0),
    ("pulse", 15, 1.0, 5.0),
    ("engagement", 10, 60.0, 14.0),
]

V2_FACTORS = [
    ("license_utilization", 15, 0.0, 0.8),
    ("relative_usage", 15, 10.0, 60.0),
    ("usage_trend", 5, 0.5, 1.0),
    ("feature_breadth", 10, 0.0, 0.8),
    ("revenue_trend", 10, 0.8, 1.0),
    ("support_load", 10, 5.0, 0.0),
    ("nps", 10, -100.0, 100.0),
    ("csat", 5, 0.0, 100.0),
    ("pulse", 10, 1.0, 5.0),
    ("engagement", 10, 60.0, 14.0),
]

THRESHOLDS = (Decimal(70), Decimal(40), Decimal(3))  # green, yellow, margin (unchanged from v1)


def is_shipped_v1(model, factors) -> bool:
    thresholds = (model.green_threshold, model.yellow_threshold, model.hysteresis_margin)
    have = sorted((f.key, Decimal(f.weight), float(f.bad), float(f.good), f.enabled) for f in factors)
    shipped = sorted((k, Decimal(w), float(b), float(g), True) for k, w, b, g in V1_FACTORS)
    return thresholds == THRESHOLDS and have == shipped


def install_v2(apps, schema_editor):
    HealthModel = apps.get_model("metrics", "HealthModel")
    HealthFactor = apps.get_model("metrics", "HealthFactor")
    current = HealthModel.objects.order_by("-version").first()
    if current is not None and not is_shipped_v1(current, HealthFactor.objects.filter(model=current)):
        return  # an edited model stays in force
    model = HealthModel.objects.create(
        version=current.version + 1 if current else 1,
        note=NOTE,
        green_threshold=THRESHOLDS[0],
        yellow_threshold=THRESHOLDS[1],
        hysteresis_margin=THRESHOLDS[2],
    )
    HealthFactor.objects.bulk_create(
        HealthFactor(model=model, key=key, weight=weight, bad=bad, good=good, enabled=True, position=i)
        for i, (key, weight, bad, good) in enumerate(V2_FACTORS)
    )


def remove_v2(apps, schema_editor):
    apps.get_model("metrics", "HealthModel").objects.filter(note=NOTE, snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0009_health_recompute_job")]

    operations = [migrations.RunPython(install_v2, remove_v2)]
