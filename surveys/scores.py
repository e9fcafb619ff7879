"""Survey scores, computed in SQL (docs/metrics.md "Surveys").

Views, API, health model and benchmarks share these.

Each `*_score` function takes a queryset of Responses (already filtered to a period, segment, CSM…) and
runs one aggregate query. The `*_from_*` helpers hold the formula itself, so the worked examples of
docs/metrics.md can
be checked against both the arithmetic and the SQL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from .models import Kind, scale_of

PROMOTER = Q(score__gte=9)  # 9-10
PASSIVE = Q(score__gte=7, score__lte=8)  # 7-8
DETRACTOR = Q(score__lte=6)  # 0-6
SATISFIED = Q(score__gte=4)  # CSAT 4-5


def nps_from_counts(promoters: int, passives: int, detractors: int) -> float | None:
    """docs/metrics.md: NPS = % promoters (9-10) - % detractors (0-6), passives counted in the denominator."""
    total = promoters + passives + detractors
    if total == 0:
        return None
    return round(100 * (promoters - detractors) / total, 2)


def csat_from_counts(satisfied: int, responses: int) -> float | None:
    """docs/metrics.md: CSAT = % of answers 4-5 on the 1-5 scale."""
    if responses == 0:
        return None
    return round(100 * satisfied / responses, 2)


def ces_from_mean(mean: float | None) -> float | None:
    """docs/metrics.md: CES = mean answer on the 1-7 scale (7 = very easy)."""
    return None if mean is None else round(float(mean), 2)


@dataclass(frozen=True)
class SurveyScore:
    kind: str
    responses: int
    score: float | None  # NPS -100…100, CSAT 0…100, CES mean 1…7; None when there are no responses
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    satisfied: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.kind != Kind.NPS:
            for key in ("promoters", "passives", "detractors"):
                data.pop(key)
        if self.kind != Kind.CSAT:
            data.pop("satisfied")
        return data


def _aggregates(kind: str) -> dict[str, Any]:
    if kind == Kind.NPS:
        return {
            "responses": Count("id"),
            "promoters": Count("id", filter=PROMOTER),
            "passives": Count("id", filter=PASSIVE),
            "detractors": Count("id", filter=DETRACTOR),
        }
    if kind == Kind.CSAT:
        return {"responses": Count("id"), "satisfied": Count("id", filter=SATISFIED)}
    return {"responses": Count("id"), "mean": Avg("score")}


def _score(kind: str, row: dict[str, Any]) -> SurveyScore:
    if kind == Kind.NPS:
        return SurveyScore(
            kind=kind,
            responses=row["responses"],
            score=nps_from_counts(row["promoters"], row["passives"], row["detractors"]),
            promoters=row["promoters"],
            passives=row["passives"],
            detractors=row["detractors"],
        )
    if kind == Kind.CSAT:
        return SurveyScore(
            kind=kind,
            responses=row["responses"],
            score=csat_from_counts(row["satisfied"], row["responses"]),
            satisfied=row["satisfied"],
        )
    return SurveyScore(kind=kind, responses=row["responses"], score=ces_from_mean(row["mean"]))


def survey_score(responses: QuerySet, *, kind: str) -> SurveyScore:
    """NPS, CSAT or CES (docs/metrics.md "Surveys") of `responses` of that kind, in one query."""
    row = responses.filter(kind=kind).aggregate(**_aggregates(kind))
    return _score(kind, row)


def nps_score(responses: QuerySet) -> SurveyScore:
    """NPS (docs/metrics.md): % promoters - % detractors over `responses`."""
    return survey_score(responses, kind=Kind.NPS)


def csat_score(responses: QuerySet) -> SurveyScore:
    """CSAT (docs/metrics.md): % of answers 4-5 over `responses`."""
    return survey_score(responses, kind=Kind.CSAT)


def ces_score(responses: QuerySet) -> SurveyScore:
    """CES (docs/metrics.md): mean answer over `responses`."""
    return survey_score(responses, kind=Kind.CES)


@dataclass(frozen=True)
class MonthlyScore:
    month: Any  # date of the first day of the month
    score: SurveyScore


def monthly_scores(responses: QuerySet, *, kind: str) -> list[MonthlyScore]:
    """The docs/metrics.md score of `kind` for each calendar month with answers, one grouped query."""
    rows = (
        responses.filter(kind=kind)
        .annotate(month=TruncMonth("answered_at"))
        .values("month")
        .annotate(**_aggregates(kind))
        .order_by("month")
    )
    return [MonthlyScore(month=_as_date(row["month"]), score=_score(kind, row)) for row in rows]


def distribution(responses: QuerySet, *, kind: str) -> dict[int, int]:
    """How many answers gave each score of the scale (zeros included), one query."""
    counts = dict(
        responses.filter(kind=kind).values("score").annotate(n=Count("id")).values_list("score", "n")
    )
    return {value: counts.get(value, 0) for value in scale_of(kind)}


def _as_date(value: Any) -> Any:
    return value.date() if hasattr(value, "date") else value
