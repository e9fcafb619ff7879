"""Every install ships the starter library (docs/playbooks.md), enabled and editable."""

from django.db import migrations


def install(apps, schema_editor):
    from playbooks.starter import playbooks_install_starter

    playbooks_install_starter(apps)


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
