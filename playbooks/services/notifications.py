"""Telling assignees about new runs (docs/playbooks.md "notifies the assignee"): one email per assignee per
evaluation (immediate) or one a day (digest), HTML + text, each run with its reason, its tasks and a link to
it; and each user's choice between the two."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User

from ..enqueue import runs_notify_many_on_commit, runs_notify_on_commit
from ..models import EventKind, NotificationPreference, NotifyMode, Run, RunEvent, RunStatus, Task


def run_url(run: Run) -> str:
    return settings.SITE_URL + run.get_absolute_url()


def runs_email(*, user: User, runs: Sequence[Run], digest: bool = False) -> EmailMultiAlternatives:
    if len(runs) == 1:
        subject = f"New playbook: {runs[0].playbook.name} for {runs[0].customer.name}"
    else:
        subject = f"{len(runs)} new playbook runs for you" + (" (daily digest)" if digest else "")
    context = {
        "user": user,
        "runs": [{"run": r, "url": run_url(r), "tasks": list(r.tasks.all())} for r in runs],
        "digest": digest,
        "inbox_url": settings.SITE_URL + "/tasks/",
        "company": settings.CSHUB_COMPANY_NAME,
    }
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string("playbooks/email/runs.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("playbooks/email/runs.html", context), "text/html")
    return message


def runs_notify(*, assignee_id: int, run_ids: Sequence[int] | None = None, digest: bool = False) -> int:
    """Email `assignee_id` about its open, not yet notified runs (all of them, or those in `run_ids`).

    The runs are claimed with SELECT … FOR UPDATE SKIP LOCKED and marked notified in the same transaction as
    the send: a duplicate task finds nothing to send, and an SMTP error rolls the mark back (the task
    retries).
    """
    user = User.objects.filter(pk=assignee_id, is_active=True).first()
    if user is None:
        return 0
    now = timezone.now()
    with transaction.atomic():
        qs = Run.objects.filter(assignee_id=assignee_id, status=RunStatus.OPEN, notified_at__isnull=True)
        if run_ids is not None:
            qs = qs.filter(pk__in=list(run_ids))
        ids = list(qs.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
        if not ids:
            return 0
        runs = list(
            Run.objects.filter(pk__in=ids)
            .select_related("playbook", "customer")
            .prefetch_related(Prefetch("tasks", queryset=Task.objects.order_by("order", "pk")))
            .order_by("started_at", "pk")
        )
        Run.objects.filter(pk__in=ids).update(notified_at=now)
        RunEvent.objects.bulk_create(
            RunEvent(run_id=pk, at=now, kind=EventKind.NOTIFIED, message=f"Emailed {user.email}")
            for pk in ids
        )
        runs_email(user=user, runs=runs, digest=digest).send()
    return len(runs)


def digest_recipients(*, now: dt.datetime | None = None) -> list[int]:
    """Users on the daily digest with open runs nobody told them about."""
    return list(
        Run.objects.filter(
            status=RunStatus.OPEN,
            notified_at__isnull=True,
            assignee__in=NotificationPreference.objects.filter(mode=NotifyMode.DIGEST).values("user_id"),
        )
        .order_by()
        .values_list("assignee_id", flat=True)
        .distinct()
    )


# The runs of the evaluation under way, while notifications_gathered() is open: told once at its end.
_gathered: ContextVar[list[tuple[int, int, int | None]] | None] = ContextVar("runs_gathered", default=None)


@contextmanager
def notifications_gathered() -> Iterator[None]:
    """The runs started in this block (each trigger of one evaluation starts its own) are told in one email
    per assignee, queued as the block ends, rather than one per trigger: "one email per assignee per
    evaluation". Also when the block fails part way: the runs already committed are told."""
    runs: list[tuple[int, int, int | None]] = []
    token = _gathered.set(runs)
    try:
        yield
    finally:
        _gathered.reset(token)
        notifications_schedule(runs=runs)


def notifications_schedule(*, runs: Iterable[tuple[int, int, int | None]]) -> None:
    """One email per assignee that wants them immediately, queued after commit; digest users hear at the daily
    digest. `runs`: (run id, customer id, assignee id) of the new or reassigned runs. Inside
    notifications_gathered(), they wait for the end of the block."""
    gathering = _gathered.get()
    if gathering is not None:
        gathering.extend(runs)
        return
    by_assignee: dict[int, list[int]] = defaultdict(list)
    for run_id, _, assignee_id in runs:
        if assignee_id:
            by_assignee[assignee_id].append(run_id)
    if not by_assignee:
        return
    digest = set(
        NotificationPreference.objects.filter(
            user_id__in=list(by_assignee), mode=NotifyMode.DIGEST
        ).values_list("user_id", flat=True)
    )
    immediate = {a: ids for a, ids in by_assignee.items() if a not in digest}
    if len(immediate) == 1:
        [(assignee_id, run_ids)] = immediate.items()
        runs_notify_on_commit(assignee_id=assignee_id, run_ids=run_ids)
    elif (
        immediate
    ):  # one task for all of them: a live batch's runs go to several CSMs (docs/health.md#live-data)
        runs_notify_many_on_commit(by_assignee=immediate)


def notification_preference_set(*, user: User, mode: str) -> NotificationPreference:
    """Immediate emails or a daily digest for new runs assigned to `user`."""
    if mode not in NotifyMode.values:
        raise ValidationError({"mode": "Choose immediate or digest."})
    pref, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"mode": mode})
    return pref
