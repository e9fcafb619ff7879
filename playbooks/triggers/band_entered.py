"""Health band entered (docs/playbooks.md and docs/health.md): the customer's health snapshot of the day is
in the band (red or
yellow), and no run of this playbook has started since the customer last was outside it.

The snapshot bands already carry the health model's hysteresis (a score must clear a threshold by the margin
to leave a band), so a score wobbling around a threshold does not change band; and firing once per entry into
the band — not once per day in it — means a closed run is not restarted while the customer stays in the band,
even after the cooldown, nor twice if a nightly evaluation was missed.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Exists, OuterRef, Q, Subquery

from core.numbers import format_health
from metrics.models import HealthSnapshot
from playbooks.models import Run

from .base import Context, Match, as_choice, finish, jsonable

CONDITION = "band_entered"
SPEED = "nightly"
DEFAULTS = {"band": "red"}


def clean(params: dict) -> dict:
    errors: dict = {}
    cleaned = {"band": as_choice(params, "band", "red", choices=("red", "yellow"), errors=errors)}
    return finish(params, cleaned, errors)


def describe(params: dict) -> str:
    return f"Health enters the {params['band']} band"


def reason(params: dict, values: dict) -> str:
    """Why the run started, in words that hold whatever the band was the snapshot before: "was red" after
    "entered red" read as a contradiction when the customer had stayed red since its last run ended."""
    band, day = params["band"], values["date"]
    score = f"score {format_health(values['score'])} on {day}"
    previous, outside_on = values.get("previous_band"), values.get("outside_band_on")
    if not previous:
        return f"Health entered {band}: {score}, its first score"
    if previous != band:
        return f"Health entered {band} from {previous}: {score}"
    if outside_on:
        return f"Health entered {band} after {outside_on} and is still {band}: {score}"
    return f"Health {band} since its first score: {score}"


def matches(ctx: Context) -> Iterator[Match]:
    band = ctx.params["band"]
    before = HealthSnapshot.objects.filter(customer_id=OuterRef("customer_id"), date__lt=ctx.today).order_by(
        "-date"
    )
    outside = before.exclude(band=band).exclude(band="")
    runs = Run.objects.filter(playbook_id=ctx.trigger.playbook_id, customer_id=OuterRef("customer_id"))
    rows = (
        HealthSnapshot.objects.filter(date=ctx.today, band=band, customer_id__in=ctx.eligible)
        .annotate(
            left_on=Subquery(outside.values("date")[:1]),
            previous_band=Subquery(before.values("band")[:1]),
            ran_since=Exists(runs.filter(started_at__date__gt=OuterRef("left_on"))),
            ran_ever=Exists(runs),
        )
        .filter(Q(left_on__isnull=False, ran_since=False) | Q(left_on__isnull=True, ran_ever=False))
        .values_list("customer_id", "score", "previous_band", "left_on")
        .order_by("customer_id")
    )
    for customer_id, score, previous_band, left_on in rows:
        yield Match(
            customer_id=customer_id,
            values={
                "band": band,
                "score": jsonable(score),
                "date": ctx.today.isoformat(),
                "previous_band": previous_band or None,
                "outside_band_on": left_on.isoformat() if left_on else None,
            },
        )
