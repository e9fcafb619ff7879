"""How far each day's nightly work got, and what the catch-up check does (docs/operations.md#catch-up).

The nightly job (beat, 02:00 TIME_ZONE) recomputes the day that just ended in chunks, then runs the
after-recompute hooks (playbooks' trigger evaluation). A HealthDayRun row follows it: dispatched, recomputed
(every chunk written), hooks sent, hooks done. Beat failing to send the job (broker down at 02:00) leaves no
row; a worker killed with chunks in flight leaves a row that never gets `recomputed_at`; an evaluation that
failed leaves `hooks_done_at` empty. `catch_up_action` says what finishes such a day, and the catch-up task
(metrics.tasks.health_catch_up, every 15 minutes) does it. Re-running either step is exact (chunks delete and
insert their day; evaluation starts each run once), so a catch-up that overlaps a slow night costs time only.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ..models import HealthDayRun

NIGHTLY_AT = dt.timedelta(hours=2)  # the beat schedule's crontab(0, 2) in TIME_ZONE
# After 02:00, this long before the catch-up expects the night's row to exist.
DISPATCH_GRACE = dt.timedelta(minutes=10)
# A recompute dispatched this long ago and still not finished is lost: longer than the broker's
# visibility_timeout (10 minutes, settings), so a dead worker's chunks have had their chance to come back.
RECOMPUTE_STALE = dt.timedelta(minutes=30)
# Hooks sent this long ago and not done (the evaluation task was lost or failed for good): send them again.
HOOKS_STALE = dt.timedelta(minutes=20)


def nightly_day(now: dt.datetime) -> dt.date:
    """The day whose nightly run should have started by `now`: yesterday after 02:10, else the day before."""
    return (timezone.localtime(now) - NIGHTLY_AT - DISPATCH_GRACE).date() - dt.timedelta(days=1)


def _mark(day: dt.date, **fields: dt.datetime | None) -> None:
    HealthDayRun.objects.update_or_create(day=day, defaults=fields)


def health_day_dispatched(*, day: dt.date) -> None:
    """A recompute of `day` was sent out (chunks queued): it starts over."""
    _mark(day, dispatched_at=timezone.now(), recomputed_at=None, hooks_sent_at=None, hooks_done_at=None)


def health_day_recomputed(*, day: dt.date) -> None:
    """Every chunk of `day` is written."""
    _mark(day, recomputed_at=timezone.now())


def health_day_hooks_sent(*, day: dt.date, done: bool = False) -> None:
    """The after-recompute hooks of `day` were called (`done`: and nothing of them runs later)."""
    now = timezone.now()
    _mark(day, hooks_sent_at=now, **({"hooks_done_at": now} if done else {}))


def health_day_hooks_done(*, day: dt.date) -> None:
    """What the hooks queued for `day` (the nightly trigger evaluation) has finished."""
    _mark(day, hooks_done_at=timezone.now())


def catch_up_action(*, now: dt.datetime | None = None) -> tuple[str, dt.date]:
    """What the catch-up check should do now: ("recompute", day), ("hooks", day) or ("ok", day)."""
    now = now or timezone.now()
    day = nightly_day(now)
    run = HealthDayRun.objects.filter(day=day).first()
    if run is None:
        return "recompute", day
    if run.recomputed_at is None:
        lost = run.dispatched_at is None or run.dispatched_at < now - RECOMPUTE_STALE
        return ("recompute" if lost else "ok"), day
    if run.hooks_done_at is None:
        sent = run.hooks_sent_at or run.recomputed_at
        return ("hooks" if sent < now - HOOKS_STALE else "ok"), day
    return "ok", day
