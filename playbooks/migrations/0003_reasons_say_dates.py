"""Stored run reasons say dates, never "in N days" (docs/playbooks.md#relative-dates): rewrite the reasons of
earlier renewal and silence runs, whose relative part went stale the day after they started. Pages add the
relative part when they render."""

import re

from django.db import migrations

RENEWAL = re.compile(r"^Renewal on (\d{4}-\d{2}-\d{2}), in -?\d+ days$")
SILENCE = re.compile(r"^No touchpoint for -?\d+ days \(last on (\d{4}-\d{2}-\d{2})\)$")


def forwards(apps, schema_editor):
    Run = apps.get_model("playbooks", "Run")
    rows = Run.objects.filter(reason__regex=r"^(Renewal on .*, in -?\d+ days|No touchpoint for -?\d+ days)")
    for run in rows.only("pk", "reason").iterator():
        if m := RENEWAL.match(run.reason):
            reason = f"Renewal on {m.group(1)}"
        elif m := SILENCE.match(run.reason):
            reason = f"No touchpoint since {m.group(1)}"
        else:
            continue
        Run.objects.filter(pk=run.pk).update(reason=reason)


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0002_install_starter")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
