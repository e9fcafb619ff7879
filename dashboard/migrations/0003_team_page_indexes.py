from django.db import migrations

# The team page's grouped reads of the facts (docs/architecture.md#dashboard-rollups, dashboard/team/activity.py)
# answered from indexes alone: touchpoints per book in a period with their kind, the customers of each book's
# pulses in the last 30 days, and the customers (and their stored first-utilization days) whose contract started
# in the period. Raw SQL in this app's migrations, so that the other apps' migration numbers are left alone;
# PostgreSQL keeps the extra columns as INCLUDE (not part of the key), SQLite in the key.
INDEXES = [
    ("dashboard_team_touchpoint_book", "accounts_touchpoint", "book_csm_id, occurred_at", "kind"),
    ("dashboard_team_pulse_book", "accounts_pulse", "book_csm_id, created_at", "customer_id"),
    ("dashboard_team_customer_start", "accounts_customer", "contract_start", ""),
    ("dashboard_team_first_use_start", "metrics_firstutilizationday", "contract_start", ""),
]


def create(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for name, table, key, extra in INDEXES:
        if not extra:
            columns = key
        elif postgresql:
            columns = f"{key}) INCLUDE ({extra}"
        else:
            columns = f"{key}, {extra}"
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")


def drop(apps, schema_editor):
    for name, _table, _key, _extra in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_team_rollup"),
        ("accounts", "0012_notification_slack"),
        ("metrics", "0018_usage_event_partitioned"),
    ]

    operations = [migrations.RunPython(create, drop)]
