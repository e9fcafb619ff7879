"""The default health model of docs/health.md as version 1 (weights sum to 100)."""

from __future__ import annotations

from django.db import migrations

DEFAULT_FACTORS = [
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


def create_default(apps, schema_editor):
    HealthModel = apps.get_model("metrics", "HealthModel")
    HealthFactor = apps.get_model("metrics", "HealthFactor")
    if HealthModel.objects.exists():
        return
    model = HealthModel.objects.create(
        version=1,
        note="Default model (docs/health.md)",
        green_threshold=70,
        yellow_threshold=40,
        hysteresis_margin=3,
    )
    HealthFactor.objects.bulk_create(
        HealthFactor(model=model, key=key, weight=weight, bad=bad, good=good, enabled=True, position=i)
        for i, (key, weight, bad, good) in enumerate(DEFAULT_FACTORS)
    )


def remove_default(apps, schema_editor):
    apps.get_model("metrics", "HealthModel").objects.filter(version=1, snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_health")]

    operations = [migrations.RunPython(create_default, remove_default)]
