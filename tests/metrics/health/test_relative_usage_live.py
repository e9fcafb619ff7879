"""Relative usage in the live recompute (docs/health.md#live-data): the hourly anchor shared through the
cache, the batch ranked on its usage read now, and the exact path (nightly, backtest) untouched by either."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import LifecycleStage
from metrics.health.factors import get_factor, relative_usage
from metrics.health.factors.relative_usage import Anchor, live_anchor, live_ranks
from metrics.models import UsageDaily
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

FACTOR = get_factor("relative_usage")
WHOLE_BASE = "GROUP BY"  # the population's aggregate; the batch's read groups too, so told apart by ids


def whole_base_reads(queries) -> int:
    """Statements that aggregate the usage of the whole scored population (no customer id list)."""
    return sum(1 for q in queries if WHOLE_BASE in q["sql"] and '"id" IN (' not in q["sql"])


@pytest.fixture
def base():
    """45 customers with usage today: 35 in SMB (a group), 10 without segment."""
    today = timezone.localdate()
    customers = [CustomerFactory(segment="SMB" if i < 35 else "", licenses=1) for i in range(45)]
    for i, c in enumerate(customers):
        UsageDaily.objects.create(customer=c, user_id="u", feature="f", day=today, events=i + 1, quantity=1)
    return today, customers


def exact(day, ids):
    relative_usage._memo.clear()  # the exact path reads the day again (the live copy is kept)
    return FACTOR.readings(customer_ids=ids, day=day)


def live(day, ids):
    with live_ranks(day, ids):
        return FACTOR.readings(customer_ids=ids, day=day)


def test_a_fresh_process_loads_the_hours_anchor_instead_of_reading_the_whole_base(base):
    today, customers = base
    ids = [customers[0].pk, customers[40].pk]
    with CaptureQueriesContext(connection) as first:
        live(today, ids)
    assert whole_base_reads(first.captured_queries) == 1  # the first process of the hour builds it
    relative_usage.forget()  # a fresh process (or another one): no copy of its own, the cache has it
    with CaptureQueriesContext(connection) as again:
        got = live(today, ids)
    assert whole_base_reads(again.captured_queries) == 0
    assert len(again.captured_queries) == 1  # the batch's own usage, nothing else
    assert got == exact(today, ids)
    with CaptureQueriesContext(connection) as kept:  # the same process later in the hour: its own copy
        live(today, ids)
    assert len(kept.captured_queries) == 1


def test_the_anchor_is_rebuilt_once_its_hour_is_over(base, monkeypatch):
    today, customers = base
    now = 1_800_000_000.0 - 10  # ten seconds before an hour's end
    monkeypatch.setattr(relative_usage, "_now", lambda: now)
    ids = [customers[1].pk]
    live(today, ids)
    UsageDaily.objects.filter(customer=customers[2]).update(events=0)  # someone else drops below it
    with CaptureQueriesContext(connection) as same_hour:
        before = live(today, ids)
    assert whole_base_reads(same_hour.captured_queries) == 0  # the anchor does not see customers[2] yet
    assert before[customers[1].pk].value != exact(today, ids)[customers[1].pk].value
    now += 20  # the next hour
    relative_usage.forget()  # another process, too
    with CaptureQueriesContext(connection) as next_hour:
        after = live(today, ids)
    assert whole_base_reads(next_hour.captured_queries) == 1
    assert after == exact(today, ids)
    assert relative_usage.live_anchor(today).hour == int(now // relative_usage.ANCHOR_SECONDS)


def test_a_batch_is_ranked_on_its_usage_now_and_moved_into_the_anchor(base):
    today, customers = base
    low, high, loner = customers[0], customers[34], customers[44]
    everyone = [c.pk for c in customers]
    live(today, [low.pk])  # the anchor is built
    UsageDaily.objects.filter(customer=low).update(events=500)  # the bottom of SMB goes to its top
    UsageDaily.objects.filter(customer=loner).update(events=0)
    relative_usage.forget()  # a fresh process loads the anchor built before the writes
    got = live(today, [low.pk, loner.pk])
    afresh = exact(today, everyone)
    assert got[low.pk] == afresh[low.pk]  # same as ranking the whole base now
    assert got[low.pk].value > 95
    assert got[low.pk].detail["events"] == 500
    assert got[loner.pk] == afresh[loner.pk]
    assert got[loner.pk].detail["group"] == ""
    high.segment = ""  # a segment change moves it from SMB's list to the whole base only
    high.save()
    got = live(today, [high.pk, low.pk])
    afresh = exact(today, everyone)
    assert got == {pk: afresh[pk] for pk in (high.pk, low.pk)}
    anchor = live_anchor(today)
    assert list(anchor.groups["SMB"]) == sorted(
        relative_usage.distribution(today).groups["SMB"]
    )  # the process's copy holds what it moved
    high.lifecycle_stage = LifecycleStage.CHURNED  # leaves the population: its value leaves the lists
    high.save()
    got = live(today, [high.pk, low.pk])
    assert high.pk not in got
    assert got[low.pk] == exact(today, [low.pk])[low.pk]
    assert len(live_anchor(today).everyone) == 44


def test_a_second_process_waits_for_the_build_under_way(base, monkeypatch):
    today, _customers = base
    monkeypatch.setattr(relative_usage, "BUILD_POLL_SECONDS", 0.02)
    hour = int(relative_usage._now() // relative_usage.ANCHOR_SECONDS)
    version = relative_usage._version()
    key = relative_usage._anchor_key(today, hour, version)
    built = Anchor.of(today, hour, version, relative_usage._peers(today))
    cache.add(key + ":building", 1, timeout=60)  # another process took the build
    threading.Timer(0.2, lambda: cache.set(key, built, timeout=60)).start()
    with CaptureQueriesContext(connection) as waiting:
        anchor = live_anchor(today)
    assert len(waiting.captured_queries) == 0
    assert list(anchor.everyone) == list(built.everyone)
    relative_usage.forget(shared=True)  # a builder that gave up (its key gone): this process builds
    version = relative_usage._version()
    key = relative_usage._anchor_key(today, hour, version)
    cache.add(key + ":building", 1, timeout=60)
    threading.Timer(0.2, lambda: cache.delete(key + ":building")).start()
    with CaptureQueriesContext(connection) as building:
        live_anchor(today)
    assert whole_base_reads(building.captured_queries) == 1
    assert cache.get(key) is not None  # and shares it


def test_without_a_cache_the_process_builds_its_own_anchor(base, monkeypatch):
    today, customers = base

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get", "add", "set"):
        monkeypatch.setattr(cache, name, down)
    ids = [customers[3].pk]
    assert live(today, ids) == exact(today, ids)
    with CaptureQueriesContext(connection) as kept:
        live(today, ids)
    assert len(kept.captured_queries) == 1  # its own copy for the rest of the hour


def test_past_days_are_ranked_exactly_never_from_an_anchor(base, monkeypatch):
    """The backtest and backfills read past days through the exact path: never the cache, never the live
    batch's usage, and data changed for a past day shows once the process's memo is dropped."""
    today, customers = base
    past = today - dt.timedelta(days=3)
    for i, c in enumerate(customers):
        UsageDaily.objects.create(customer=c, user_id="u", feature="f", day=past, events=45 - i, quantity=1)
    ids = [c.pk for c in customers]
    with live_ranks(today, ids[:2]):
        monkeypatch.setattr(relative_usage, "live_anchor", None)  # any use would fail
        monkeypatch.setattr(cache, "get", None)
        inside = FACTOR.readings(customer_ids=ids, day=past)
    monkeypatch.undo()
    assert inside == exact(past, ids)
    assert inside[customers[0].pk].value > inside[customers[30].pk].value  # the past day's own usage
    UsageDaily.objects.filter(customer=customers[0], day=past).update(events=0)  # an import rewrites the past
    assert exact(past, ids)[customers[0].pk].value < inside[customers[0].pk].value


ANOTHER_PROCESS = """
import json, os, django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from metrics.health.factors import get_factor
from metrics.health.factors.relative_usage import live_ranks
ids = json.loads(os.environ["IDS"])
with CaptureQueriesContext(connection) as queries, live_ranks(timezone.localdate(), ids):
    got = get_factor("relative_usage").readings(customer_ids=ids, day=timezone.localdate())
sql = [q["sql"] for q in queries.captured_queries]
print(json.dumps({"sql": sql, "ranks": {c: r.value for c, r in got.items()}}))
"""


def in_another_process(ids: list[int]) -> tuple[list[dict], dict[int, float]]:
    """A live batch ranked in a new Python process on this test's database and Redis: its statements and
    ranks."""
    import json
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
            f"{connection.settings_dict['PORT'] or 5432}/{connection.settings_dict['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": "cshub.settings",
        "DEBUG": "1",
        "IDS": json.dumps(ids),
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", ANOTHER_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    answer = json.loads(out.strip().splitlines()[-1])
    return [{"sql": s} for s in answer["sql"]], {int(c): v for c, v in answer["ranks"].items()}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_the_hours_anchor_through_redis(base):
    """Real processes on PostgreSQL and Redis: the first builds the hour's anchor, a second one and this
    process load it (no statement over the whole base), and all rank alike."""
    from tests.requirements import require_postgres, require_redis

    require_redis()
    require_postgres()
    today, customers = base
    ids = [customers[0].pk, customers[40].pk]
    for _attempt in range(2):  # once more if an hour ended in the middle (a new anchor is due then)
        hour = int(relative_usage._now() // relative_usage.ANCHOR_SECONDS)
        relative_usage.forget(shared=True)
        first_sql, first = in_another_process(ids)
        second_sql, second = in_another_process(ids)
        with CaptureQueriesContext(connection) as here:
            mine = {c: r.value for c, r in live(today, ids).items()}
        if hour == int(relative_usage._now() // relative_usage.ANCHOR_SECONDS):
            break
    assert whole_base_reads(first_sql) == 1
    assert whole_base_reads(second_sql) == 0
    assert len(second_sql) == 1  # the batch's own usage
    assert whole_base_reads(here.captured_queries) == 0
    assert first == second == mine == {c: r.value for c, r in exact(today, ids).items()}
