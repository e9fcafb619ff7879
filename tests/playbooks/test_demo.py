"""seed_demo's playbooks part: starter library, a realistic inbox (overdue and done tasks), idempotent."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from playbooks.models import Playbook, Run, RunStatus, Task, TaskStatus


def test_seed_demo_builds_a_realistic_inbox():
    call_command("seed_demo", "--customers", "60", stdout=StringIO())
    assert Playbook.objects.exclude(starter_key="").count() == 5
    runs = Run.objects.count()
    assert runs > 5
    assert Run.objects.filter(status=RunStatus.OPEN).exists()
    assert Task.objects.filter(status=TaskStatus.DONE).exists()
    assert Task.objects.filter(status=TaskStatus.OPEN, due_date__lt=timezone.localdate()).exists()
    assert Task.objects.filter(status=TaskStatus.OPEN, due_date__gte=timezone.localdate()).exists()
    assert not Run.objects.filter(assignee__isnull=True).exists()

    call_command("seed_demo", "--customers", "60", stdout=StringIO())
    assert Run.objects.count() == runs
