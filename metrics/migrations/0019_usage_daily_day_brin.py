"""PostgreSQL: a BRIN index on metrics_usagedaily.day, so that "did any customer have usage in these 30 days?"
(the usage factors' feed check, docs/health.md#missing-is-not-perfect) reads a few pages instead of the whole
rollup. BRIN: a few pages for the whole table and next to nothing per insert, which suits a table that grows
roughly in day order. SQLite: nothing (the demo-sized rollup is scanned)."""

from django.db import migrations

INDEX = "metrics_usagedaily_day_brin"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON metrics_usagedaily USING brin (day)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0018_usage_event_partitioned")]

    operations = [migrations.RunPython(forward, backward)]
