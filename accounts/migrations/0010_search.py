"""Full-text search (docs/workspace.md#search): GIN indexes on PostgreSQL, FTS5 tables kept by triggers on
SQLite. The SQL lives in accounts/search_sql.py, which accounts.search mirrors."""

from django.db import migrations

from accounts import search_sql


def forwards(apps, schema_editor):
    search_sql.install(schema_editor.connection)


def backwards(apps, schema_editor):
    search_sql.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_note")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
