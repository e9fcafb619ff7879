"""Customer page panel (cshub/panels.py): each contact's latest survey answers and recent comments."""

from __future__ import annotations

from typing import Any

from core.panels import Panel

from .models import BAND_LABELS, Kind, Response
from .selectors import latest_answers_for_customer

KINDS = [Kind.NPS, Kind.CSAT, Kind.CES]


def customer_panels(*, customer: Any, user: Any) -> list[Panel]:
    """Two queries: the latest answer per contact and kind, and the five latest comments."""
    latest = list(latest_answers_for_customer(customer=customer))
    by_contact: dict[str, dict[str, Any]] = {}
    for answer in latest:
        row = by_contact.setdefault(
            answer.contact_email,
            {
                "email": answer.contact_email,
                "name": answer.contact.name if answer.contact else "",
                "answers": {},
            },
        )
        row["answers"][answer.kind] = _display(answer)
    for row in by_contact.values():
        row["cells"] = [row["answers"].get(kind) for kind in KINDS]
    comments = [
        _display(r)
        for r in Response.objects.filter(customer=customer)
        .exclude(comment="")
        .order_by("-answered_at", "-id")[:5]
    ]
    return [
        Panel(
            title="Surveys",
            template="surveys/panels/customer.html",
            context={"contacts": list(by_contact.values()), "comments": comments},
            order=50,
        )
    ]


def _display(answer: Response) -> dict[str, Any]:
    band = answer.band
    return {
        "kind": answer.get_kind_display(),
        "score": answer.score,
        "band": band,
        "band_label": BAND_LABELS[answer.kind][band],
        "colour": {"negative": "red", "neutral": "yellow", "positive": "green"}[band],
        "comment": answer.comment,
        "answered_at": answer.answered_at,
        "email": answer.contact_email,
    }
