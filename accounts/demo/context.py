"""What every part of the demo shares: its constants, the context each app's `demo.seed(ctx)` receives, and
a weighted choice."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from ..models import Customer, CustomerQuerySet

DEMO_DOMAIN = "demo.cshub.dev"
DEMO_PASSWORD = "demo"  # noqa: S105 - the published password of the demo logins
DEMO_PREFIX = "DEMO-"  # external_id of every demo customer: DEMO-0001, DEMO-0002, …


@dataclass
class DemoContext:
    """What each app's `demo.seed(ctx)` receives."""

    rng: random.Random
    today: dt.date
    customers: int
    stdout: Any
    seed: int = 42
    # (role, email, description) lines printed at the end of `seed_demo`; shared between the apps' contexts.
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def log(self, msg: str) -> None:
        self.stdout.write(f"  {msg}")

    def rng_for(self, *key: object) -> random.Random:
        """A generator of its own for one entity, independent of how many others are generated."""
        return random.Random(":".join(str(k) for k in (self.seed, *key)))  # noqa: S311 - made-up data

    def at(self, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
        """An aware datetime on `day` in the project time zone."""
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    def demo_customers(self) -> CustomerQuerySet:
        """Every demo customer (external_id DEMO-…), in a stable order."""
        return Customer.objects.filter(external_id__startswith=DEMO_PREFIX).order_by("external_id")


def weighted(rng: random.Random, pairs: Iterable[tuple[Any, float]]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]
