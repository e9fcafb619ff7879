from __future__ import annotations

import datetime as dt

from django.utils import timezone

from metrics.models import UsageDaily

DAY = dt.date(2026, 6, 30)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    """An aware datetime on `day` in TIME_ZONE."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def days_ago(n: int, day: dt.date = DAY) -> dt.date:
    return day - dt.timedelta(days=n)


def usage(customer, *, users: int, day: dt.date, features=("reports",), events: int = 1, prefix: str = "u"):
    """`users` distinct users of `customer` each with `events` events of every feature on `day`."""
    UsageDaily.objects.bulk_create(
        UsageDaily(
            customer=customer, user_id=f"{prefix}{i}", feature=f, day=day, events=events, quantity=events
        )
        for i in range(users)
        for f in features
    )
