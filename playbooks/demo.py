"""Demo playbooks for `seed_demo`: the starter library and a few weeks of its runs, so CSMs log in to a
realistic inbox (some tasks overdue, some done, a few runs closed).

The runs come from the real evaluation, replayed as of a few past days (a renewal 90 days out a month ago,
detractor answers, health entering red…); afterwards some of the older tasks are completed through the same
service the inbox uses. Idempotent: the history is replayed only while no demo customer has a run.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.demo import DemoContext
from accounts.models import User

from .evaluation import triggers_evaluate
from .models import Run, RunStatus, TaskStatus
from .services import run_close, task_complete
from .starter import playbooks_install_starter

REPLAY_DAYS_AGO = (45, 30, 16, 7, 2, 0)
NOTES = [
    "Spoke with the sponsor, agreed next steps.",
    "Done — summary sent by email.",
    "Reviewed with the team on Monday.",
    "Covered in the weekly call.",
]


def seed(ctx: DemoContext) -> None:
    created = playbooks_install_starter()
    ctx.log(
        f"starter library: {created} playbook(s) installed" if created else "starter library already there"
    )
    customers = ctx.demo_customers()
    if Run.objects.filter(customer__in=customers).exists():
        ctx.log("playbook runs already there")
        return
    for back in REPLAY_DAYS_AGO:
        if back == 0 and not customers.filter(health_as_of=ctx.today).exists():
            _recompute_today(ctx)
        day = ctx.today - dt.timedelta(days=back)
        now = ctx.at(day, 2, 30) if back else timezone.now()
        triggers_evaluate(speed="all", today=day, now=now, notify=False)
    _work_some_tasks(ctx)
    runs = Run.objects.filter(customer__in=customers)
    ctx.log(
        f"{runs.count()} playbook runs ({runs.filter(status=RunStatus.OPEN).count()} open) from the starter "
        "triggers replayed over the last month"
    )


def _recompute_today(ctx: DemoContext) -> None:
    """No health for today yet (the metrics demo did not compute it): today's snapshots, chunk by chunk as the
    nightly job does (without its hook: the replay below evaluates today itself, quietly)."""
    from metrics.health.services import customer_id_chunks, health_chunk_recompute
    from metrics.models import HealthModel

    model = HealthModel.objects.current()
    for lo, hi in customer_id_chunks():
        health_chunk_recompute(day=ctx.today, model_id=model.pk, lo=lo, hi=hi)


def _work_some_tasks(ctx: DemoContext) -> None:
    """Older runs: the first task or two done by their assignee; a few runs closed with an outcome."""
    users = {u.pk: u for u in User.objects.filter(playbook_runs__isnull=False).distinct()}
    week_ago = timezone.now() - dt.timedelta(days=6)
    older = list(
        Run.objects.filter(status=RunStatus.OPEN, started_at__lt=week_ago, assignee__isnull=False)
        .prefetch_related("tasks")
        .order_by("pk")
    )
    for n, run in enumerate(older):
        rng = ctx.rng_for("playbook-run", run.customer_id, run.playbook_id)
        user = users[run.assignee_id]
        if n % 7 == 3:
            run_close(
                user=user,
                run=run,
                status=RunStatus.DONE if n % 2 else RunStatus.CANCELLED,
                outcome_note=rng.choice(
                    [
                        "Customer back on track, usage recovering.",
                        "Renewal signed early.",
                        "No longer relevant.",
                    ]
                ),
            )
            continue
        todo = [t for t in sorted(run.tasks.all(), key=lambda t: t.order) if t.status == TaskStatus.OPEN]
        for task in todo[: rng.choice([0, 1, 1, 2])]:
            if task.required_touchpoint_kind:
                break
            task_complete(user=user, task=task, note=rng.choice(NOTES))
