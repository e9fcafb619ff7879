"""The default health model v3 of docs/health.md, installed as a NEW version (weights sum to 100).

v3 is v2 plus "new customer" (tenure in the first 180 days: the first months are when customers leave most)
and the key-feature share (where an account's activity goes); v2's factors keep their proportions (each
weight × 0.8), so an established customer scores exactly as under v2 wherever the key-feature share is
excused or at v2's average. Only when
the version in force is exactly the shipped v2 (the same factors, weights, anchors and thresholds as
0010_health_default_model_v2 created): an install that edited its model keeps its own. History keeps v1 and
v2, and snapshots keep pointing at the version that computed them. Reverse: deletes the version this
migration created, unless a snapshot uses it.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import migrations

NOTE = "Default model v3 (docs/health.md)"

V2_FACTORS = [
    # key, weight, bad, good
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

V3_FACTORS = [
    ("license_utilization", 12, 0.0, 0.8),
    ("relative_usage", 12, 10.0, 60.0),
    ("usage_trend", 4, 0.5, 1.0),
    ("feature_breadth", 8, 0.0, 0.8),
    ("key_feature_share", 8, 0.1, 0.6),
    ("revenue_trend", 8, 0.8, 1.0),
    ("early_tenure", 12, 30.0, 180.0),
    ("support_load", 8, 5.0, 0.0),
    ("nps", 8, -100.0, 100.0),
    ("csat", 4, 0.0, 100.0),
    ("pulse", 8, 1.0, 5.0),
    ("engagement", 8, 60.0, 14.0),
]

THRESHOLDS = (Decimal(70), Decimal(40), Decimal(3))  # green, yellow, margin (unchanged since v1)


def is_shipped_v2(model, factors) -> bool:
    thresholds = (model.green_threshold, model.yellow_threshold, model.hysteresis_margin)
    have = sorted((f.key, Decimal(f.weight), float(f.bad), float(f.good), f.enabled) for f in factors)
    shipped = sorted((k, Decimal(w), float(b), float(g), True) for k, w, b, g in V2_FACTORS)
    return thresholds == THRESHOLDS and have == shipped


def install_v3(apps, schema_editor):
    HealthModel = apps.get_model("metrics", "HealthModel")
    HealthFactor = apps.get_model("metrics", "HealthFactor")
    current = HealthModel.objects.order_by("-version").first()
    if current is None or not is_shipped_v2(current, HealthFactor.objects.filter(model=current)):
        return  # an edited model stays in force (and an empty database gets the default on first use)
    model = HealthModel.objects.create(
        version=current.version + 1,
        note=NOTE,
        green_threshold=THRESHOLDS[0],
        yellow_threshold=THRESHOLDS[1],
        hysteresis_margin=THRESHOLDS[2],
    )
    HealthFactor.objects.bulk_create(
        HealthFactor(model=model, key=key, weight=weight, bad=bad, good=good, enabled=True, position=i)
        for i, (key, weight, bad, good) in enumerate(V3_FACTORS)
    )


def remove_v3(apps, schema_editor):
    apps.get_model("metrics", "HealthModel").objects.filter(note=NOTE, snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0013_health_factor_feature_keys")]

    operations = [migrations.RunPython(install_v3, remove_v3)]
