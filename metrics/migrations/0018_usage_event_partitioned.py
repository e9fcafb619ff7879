"""PostgreSQL: metrics_usageevent becomes a table partitioned by month of occurred_at (docs/operations.md#
usage-partitions), with its rows copied over. SQLite: nothing (0017 changed its unique key already).

A partitioned table's unique keys must hold the partition key: the primary key becomes (id, occurred_at)
and the idempotency key (event_id, occurred_at) (0017). PostgreSQL 15 has no identity columns on
partitioned tables, so `id` takes its values from a sequence it owns. Monthly partitions are created for
every month that has rows and for this month and the next two; a DEFAULT partition takes the rest.
`manage.py usage_partitions` (nightly in the beat schedule) creates the later ones and archives old ones.
"""

import datetime

from django.db import migrations

TABLE = "metrics_usageevent"
OLD = "metrics_usageevent_unpartitioned"


def _month_partitions_sql(cursor, months):
    for (month,) in months:
        name = f"{TABLE}_p{month:%Y%m}"
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
            [f"{month.isoformat()} 00:00:00+00", f"{_next_month(month).isoformat()} 00:00:00+00"],
        )


def _next_month(month):
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("metrics", "UsageEvent")
    customer = model._meta.get_field("customer")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        # Free the names of the old table's keys and indexes for the new table (Django finds them by name).
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
            [OLD],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {OLD} DROP CONSTRAINT "{name}"')
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [OLD])
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            f"""CREATE TABLE {TABLE} (
                id bigint NOT NULL,
                event_id varchar(200) NOT NULL,
                user_id varchar(200) NOT NULL,
                feature varchar(100) NOT NULL,
                occurred_at timestamp with time zone NOT NULL,
                quantity integer NOT NULL CONSTRAINT metrics_usageevent_quantity_check CHECK (quantity >= 0),
                customer_id bigint NOT NULL,
                CONSTRAINT metrics_usageevent_pkey PRIMARY KEY (id, occurred_at),
                CONSTRAINT usage_event_unique_id_time UNIQUE (event_id, occurred_at),
                CONSTRAINT usage_event_quantity_positive CHECK (quantity >= 1)
            ) PARTITION BY RANGE (occurred_at)"""
        )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        cursor.execute(
            f"""SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM {OLD}
                UNION SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + m * interval '1 month')::date
                FROM generate_series(0, 2) m ORDER BY 1"""
        )
        _month_partitions_sql(cursor, cursor.fetchall())
        cursor.execute(
            f"INSERT INTO {TABLE} (id, event_id, user_id, feature, occurred_at, quantity, customer_id) "
            f"SELECT id, event_id, user_id, feature, occurred_at, quantity, customer_id FROM {OLD}"
        )
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq AS bigint OWNED BY {TABLE}.id")
        cursor.execute(f"SELECT setval('{TABLE}_id_seq', COALESCE((SELECT MAX(id) FROM {TABLE}), 0) + 1, false)")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
    # The foreign key and its index, under the names Django gives them.
    schema_editor.execute(schema_editor._create_index_sql(model, fields=[customer]))
    schema_editor.execute(schema_editor._create_fk_sql(model, customer, "_fk_%(to_table)s_%(to_column)s"))


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("metrics", "UsageEvent")
    customer = model._meta.get_field("customer")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
            [OLD],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {OLD} DROP CONSTRAINT "{name}"')
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [OLD])
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        cursor.execute(
            f"""CREATE TABLE {TABLE} (
                id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                event_id varchar(200) NOT NULL,
                user_id varchar(200) NOT NULL,
                feature varchar(100) NOT NULL,
                occurred_at timestamp with time zone NOT NULL,
                quantity integer NOT NULL CONSTRAINT metrics_usageevent_quantity_check CHECK (quantity >= 0),
                customer_id bigint NOT NULL,
                CONSTRAINT usage_event_unique_id_time UNIQUE (event_id, occurred_at),
                CONSTRAINT usage_event_quantity_positive CHECK (quantity >= 1)
            )"""
        )
        cursor.execute(
            f"INSERT INTO {TABLE} (id, event_id, user_id, feature, occurred_at, quantity, customer_id) "
            f"SELECT id, event_id, user_id, feature, occurred_at, quantity, customer_id FROM {OLD}"
        )
        cursor.execute(f"DROP TABLE {OLD} CASCADE")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), COALESCE((SELECT MAX(id) FROM {TABLE}), 0) + 1, false)"
        )
    schema_editor.execute(schema_editor._create_index_sql(model, fields=[customer]))
    schema_editor.execute(schema_editor._create_fk_sql(model, customer, "_fk_%(to_table)s_%(to_column)s"))


class Migration(migrations.Migration):
    dependencies = [("metrics", "0017_usage_event_unique_id_time")]

    operations = [migrations.RunPython(partition, unpartition)]
