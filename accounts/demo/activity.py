"""A year of demo activity per customer: touchpoints (with the contacts involved), pulses and notes, following
the customer's trajectory."""

from __future__ import annotations

import datetime as dt
import random

from ..models import Note, Pulse, Sentiment, Touchpoint, TouchpointKind, User
from .context import DemoContext, weighted
from .customers import TRAJECTORIES, CustomerPlan

FEATURES = [
    "dashboards", "the Salesforce sync", "SSO", "scheduled reports", "the mobile app", "alerts", "the API",
    "role permissions", "data exports", "the forecasting module", "audit logs", "custom fields",
]  # fmt: skip
TOPICS = [
    "rollout to the second region", "the Q3 reporting deadline", "their data warehouse migration",
    "onboarding new hires", "budget planning for next year", "a reorg in their ops team",
    "the upcoming price change", "consolidating two legacy tools", "their board reporting",
]  # fmt: skip
SUMMARIES: dict[str, dict[str, list[str]]] = {
    "call": {
        "positive": [
            "Check-in with {contact}: team is happy with {feature}, usage up since last month.",
            "Call with {contact} about {topic}; they want to lean on {feature} for it. Good energy.",
            "{contact} thanked us for the quick fix on {feature}; asked about training for more users.",
            "Call with {contact}: their team now runs weekly reviews in {feature}; wants to show others.",
            "{contact} shared that {feature} saved them hours on {topic}. Asked for a case-study chat.",
        ],
        "neutral": [
            "Monthly call with {contact}. No blockers; walked through the settings for {feature}.",
            "Quick call on {topic}. {contact} will come back with requirements next week.",
            "Call with {contact}: reviewed open tickets, nothing urgent.",
            "Call with {contact} to prepare {topic}; sent a checklist afterwards.",
            "Check-in with {contact}: usage flat, no complaints. Suggested a refresher on {feature}.",
        ],
        "negative": [
            "Tense call with {contact}: {feature} failing for them again, wants a timeline.",
            "{contact} raised concerns about value for money ahead of {topic}.",
            "Call with {contact}: adoption stalled, their admin left. Need a new champion.",
            "{contact} asked for a discount on the renewal; says only half the team uses {feature}.",
        ],
    },
    "meeting": {
        "positive": [
            "Working session with {contact} and team on {feature}; agreed on rollout plan.",
            "Met {contact} to plan {topic}. They are expanding use of {feature}.",
        ],
        "neutral": [
            "Meeting with {contact} on {topic}. Next: share a guide to {feature}, follow up in two weeks.",
            "Roadmap review with {contact}; interested in what is coming for {feature}.",
        ],
        "negative": [
            "Escalation meeting with {contact}: unhappy with support response times on {feature}.",
            "Meeting with {contact}: they are evaluating a competitor as part of {topic}.",
        ],
    },
    "email": {
        "positive": [
            "Sent {contact} our best-practice guide for {feature}; replied it was exactly what they needed.",
            "{contact} emailed a thank-you for the training session.",
            "{contact} replied to our usage report: 'best quarter so far', forwarded to their VP.",
            "Sent {contact} a recap of {topic}; they confirmed next steps the same day.",
        ],
        "neutral": [
            "Emailed {contact} release notes for {feature}.",
            "Followed up with {contact} on {topic}; waiting for their reply.",
            "Shared usage report with {contact}.",
            "Sent {contact} the invite for the admin training on {feature}.",
            "{contact} asked by email for an invoice copy and the seat count.",
        ],
        "negative": [
            "No reply from {contact} to the last two emails about {topic}.",
            "{contact} emailed a complaint about an outage affecting {feature}.",
            "{contact} forwarded an internal thread questioning the tool's value ahead of {topic}.",
        ],
    },
    "chat": {
        "positive": [
            "Quick chat: {contact} found a shortcut in {feature}, very pleased.",
            "{contact} in chat: the latest release of {feature} fixed their main gripe.",
        ],
        "neutral": [
            "Chat with {contact} about a setting in {feature}.",
            "{contact} asked in chat how to export data for {topic}.",
        ],
        "negative": ["{contact} in chat: {feature} too slow for their volume, frustrated."],
    },
    "onsite": {
        "positive": ["Onsite visit with {contact}'s team: trained 12 users on {feature}, strong turnout."],
        "neutral": ["Onsite at their office with {contact}: reviewed setup and {topic}."],
        "negative": [
            "Onsite with {contact}: leadership questioned the rollout pace; agreed on a recovery plan."
        ],
    },
    "qbr": {
        "positive": [
            "QBR with {contact}: hit adoption goals, exploring {feature} for another department.",
            "QBR: {contact} shared ROI numbers; renewal looks solid, upsell discussion on {feature}.",
        ],
        "neutral": [
            "QBR with {contact}: reviewed usage and goals for next quarter ({topic}).",
            "QBR: mixed adoption across teams; agreed success plan around {feature}.",
        ],
        "negative": [
            "QBR with {contact}: below target usage, sponsor asked for a plan before renewal.",
            "QBR: {contact} flagged {topic} as a risk to the renewal.",
        ],
    },
    "advocacy": {
        "positive": [
            "{contact} agreed to be a reference call for a prospect in their industry.",
            "{contact} published a G2 review (5 stars) mentioning {feature}.",
            "Case study interview with {contact} about {topic}.",
            "{contact} will speak at our customer webinar about {feature}.",
        ]
    },
    "other": {
        "positive": ["Sent a thank-you gift to {contact} after the successful launch."],
        "neutral": ["Updated account plan after internal review of {topic}."],
        "negative": ["Internal escalation: flagged account risk to leadership ({topic})."],
    },
}
KIND_MIX = {
    "Enterprise": [("call", 25), ("meeting", 30), ("email", 20), ("onsite", 8), ("chat", 5), ("other", 2)],
    "Mid-Market": [("call", 35), ("meeting", 20), ("email", 30), ("chat", 10), ("onsite", 2), ("other", 3)],
    "SMB": [("email", 40), ("call", 25), ("chat", 25), ("meeting", 8), ("other", 2)],
}
CADENCE_DAYS = {"Enterprise": 12, "Mid-Market": 24, "SMB": 45}  # mean gap between touchpoints
QBR_EVERY_DAYS = {"Enterprise": 91, "Mid-Market": 182, "SMB": None}
PULSE_EVERY_DAYS = {"Enterprise": 30, "Mid-Market": 32, "SMB": 60}
PULSE_NOTES = {
    1: ["Sponsor stopped replying; renewal at serious risk.", "Considering leaving after the outage."],
    2: ["Adoption stalled, champion left.", "Unhappy with support; needs an exec call.", "Usage dropping."],
    3: ["Fine but not excited; no clear champion.", "Steady, some open questions on value.", ""],
    4: ["Good momentum, a few open tickets.", "Engaged sponsor, growing usage.", ""],
    5: ["Great relationship, talking expansion.", "Champion is a fan; reference-ready.", ""],
}


def _mood(plan: CustomerPlan, start: dt.date, end: dt.date, day: dt.date) -> float:
    first, last = TRAJECTORIES[plan.trajectory]
    span = max((end - start).days, 1)
    return first + (last - first) * (day - start).days / span


def _sentiment(rng: random.Random, mood: float) -> str:
    value = mood + rng.gauss(0, 0.6)
    if value >= 3.9:
        return Sentiment.POSITIVE
    if value <= 2.6:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def _workday(day: dt.date) -> dt.date:
    """CSMs log on weekdays: a Saturday or Sunday moves back to the Friday."""
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def _window(ctx: DemoContext, plan: CustomerPlan) -> tuple[dt.date, dt.date]:
    """A year of history, from contract start at the earliest, up to yesterday or the churn."""
    start = max(plan.contract_start, ctx.today - dt.timedelta(days=365))
    end = min(plan.churned_on or ctx.today, ctx.today) - dt.timedelta(days=1)
    return start, end


def activity_for(
    ctx: DemoContext,
    plan: CustomerPlan,
    customer_id: int,
    author: User | None,
    contacts: list[tuple[int, str]],
) -> tuple[list[tuple[Touchpoint, list[int]]], list[Pulse]]:
    """A year of touchpoints (with the contact ids involved) and pulses for one customer."""
    rng = ctx.rng_for("activity", plan.index)
    start, end = _window(ctx, plan)
    last_logged = end - dt.timedelta(days=plan.quiet_days)
    events: list[tuple[dt.date, str]] = []
    if plan.contract_start >= start:
        events.append((plan.contract_start + dt.timedelta(days=rng.randint(1, 4)), "kickoff"))
    if plan.go_live_date and plan.go_live_date >= start:
        events.append((plan.go_live_date, "go-live"))
    day = start + dt.timedelta(days=rng.randint(2, CADENCE_DAYS[plan.segment]))
    while day <= last_logged:
        events.append((day, weighted(rng, KIND_MIX[plan.segment])))
        day += dt.timedelta(days=max(2, round(rng.expovariate(1 / CADENCE_DAYS[plan.segment]))))
    if qbr_every := QBR_EVERY_DAYS[plan.segment]:
        day = start + dt.timedelta(days=rng.randint(30, qbr_every))
        while day <= last_logged:
            events.append((day, "qbr"))
            day += dt.timedelta(days=qbr_every + rng.randint(-10, 10))
    if plan.trajectory == "healthy" and (ctx.today - plan.contract_start).days > 300:
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            events.append(
                (start + dt.timedelta(days=rng.randint(60, max(61, (end - start).days))), "advocacy")
            )

    touchpoints: list[tuple[Touchpoint, list[int]]] = []
    recent: list[str] = []
    for day, what in sorted((_workday(day), what) for day, what in events):
        if not start <= day <= end:
            continue
        # `contacts` is in email order, so a re-created contact (new id) takes the same place.
        involved = rng.sample(contacts, k=min(len(contacts), rng.choice([1, 1, 2])))
        words = {
            "contact": involved[0][1].split(" ")[0] if involved else "the customer",
            "feature": rng.choice(FEATURES),
            "topic": rng.choice(TOPICS),
        }
        if what == "kickoff":
            kind, sentiment = TouchpointKind.MEETING, Sentiment.POSITIVE
            summary = "Kickoff meeting: introduced the team, agreed on success criteria and a go-live plan."
        elif what == "go-live":
            kind, sentiment = TouchpointKind.MEETING, Sentiment.POSITIVE
            summary = "Go-live: first users active in production. Handing over from onboarding to adoption."
        else:
            kind = what
            sentiment = (
                Sentiment.POSITIVE if kind == "advocacy" else _sentiment(rng, _mood(plan, start, end, day))
            )
            # Not the same sentence twice in a row for one customer.
            options = [t for t in SUMMARIES[kind][sentiment] if t not in recent] or SUMMARIES[kind][sentiment]
            template = rng.choice(options)
            recent = [template, *recent][:3]
            summary = template.format(**words)
        touchpoints.append(
            (
                Touchpoint(
                    customer_id=customer_id,
                    author=author,
                    kind=kind,
                    occurred_at=ctx.at(day, rng.randint(9, 16), rng.choice([0, 15, 30, 45])),
                    sentiment=sentiment,
                    summary=summary,
                ),
                [pk for pk, _ in involved],
            )
        )

    pulses: list[Pulse] = []
    rng = ctx.rng_for("pulses", plan.index)  # its own generator: touchpoint changes leave pulses alone
    every = PULSE_EVERY_DAYS[plan.segment]
    # No fresh pulse for some (and for every customer without a CSM): the health model treats it as missing.
    stale = rng.random() < 0.1 or plan.csm_slot is None
    last_pulse = end - dt.timedelta(days=70 if stale else 0)
    day = start + dt.timedelta(days=rng.randint(7, 21))
    while day <= last_pulse:
        if _workday(day) < start:
            day += dt.timedelta(days=3)
            continue
        score = min(5, max(1, round(_mood(plan, start, end, day) + rng.gauss(0, 0.45))))
        pulses.append(
            Pulse(
                customer_id=customer_id,
                author=author,
                score=score,
                note=rng.choice(PULSE_NOTES[score]),
                created_at=ctx.at(_workday(day), rng.randint(9, 17), rng.choice([0, 10, 20, 30, 40, 50])),
            )
        )
        day += dt.timedelta(days=every + rng.randint(-6, 8))
    return touchpoints, pulses


# Notes a CSM keeps on an account (docs/workspace.md#notes): context and decisions, not interactions. By the
# customer's trajectory; {contact}, {feature}, {topic} as in the touchpoints.
NOTES: dict[str, list[str]] = {
    "any": [
        "Account context: {contact} is our champion; the budget owner sits in finance. Renewal decisions are "
        "made in their Q3 planning.",
        "Their admin team is small (two people). Keep training asynchronous: recorded sessions work best.",
        "Procurement needs security questionnaires a month before renewal. Started the folder for next time.",
        "They report to their board on {topic}; our numbers feed that deck. Review it with them quarterly.",
    ],
    "healthy": [
        "Expansion idea: the second business unit is looking at {feature}. {contact} will intro us.",
        "Reference candidate: {contact} agreed to a case study once {topic} is done.",
        "Success plan agreed with {contact}: weekly usage of {feature} by every team lead by next quarter.",
    ],
    "steady": [
        "Usage is steady but narrow: only {feature}. Plan a workshop on the rest before the renewal.",
        "{contact} is happy but busy; prefers one email a month to calls.",
    ],
    "declining": [
        "Risk: {contact} is moving to another role. Need a new champion before the renewal.",
        "Risk: they are consolidating tools as part of {topic}; we are on the list to review.",
        "Escalated the {feature} issue to product; promised {contact} an update every Friday until fixed.",
    ],
    "recovering": [
        "Recovery plan: fixed the {feature} sync, retrained their team. {contact} sees progress.",
        "After the escalation: weekly check-ins with {contact} until adoption is back where it was.",
    ],
}


def notes_for(
    ctx: DemoContext,
    plan: CustomerPlan,
    customer_id: int,
    author: User | None,
    contacts: list[tuple[int, str]],
) -> list[Note]:
    """A few notes on most customers over their year: account context, then what the trajectory brings."""
    rng = ctx.rng_for("notes", plan.index)  # its own generator: touchpoints and pulses stay as they were
    start, end = _window(ctx, plan)
    count = rng.choice([0, 1, 1, 2, 2, 3])
    texts = rng.sample(NOTES["any"], k=1) + rng.sample(
        NOTES[plan.trajectory], k=min(2, len(NOTES[plan.trajectory]))
    )
    notes = []
    for i in range(count):
        words = {
            "contact": rng.choice(contacts)[1].split(" ")[0] if contacts else "the customer",
            "feature": rng.choice(FEATURES),
            "topic": rng.choice(TOPICS),
        }
        # The first note early in the year, the others later (a declining account's risks come late).
        lo = start if i == 0 else start + (end - start) * (i + 1) // (count + 2)
        day = _workday(lo + dt.timedelta(days=rng.randint(0, max(0, (end - lo).days) // 3)))
        if not start <= day <= end:
            continue
        notes.append(
            Note(
                customer_id=customer_id,
                author=author,
                text=texts[i % len(texts)].format(**words),
                created_at=ctx.at(day, rng.randint(9, 17), rng.choice([5, 20, 35, 50])),
            )
        )
    return notes
