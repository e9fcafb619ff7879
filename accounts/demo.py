"""The demo company behind `manage.py seed_demo`: people, teams, customers, contacts, touchpoints, pulses.

Other apps add their part by defining `<app>/demo.py` with `seed(ctx: DemoContext) -> None`; the command calls
them in INSTALLED_APPS order, each in its own transaction, so a later app can read what earlier ones made
(`ctx.demo_customers()`).

Rules every part follows, so `seed_demo` can be run any number of times:
- Deterministic: every random choice comes from `ctx.rng` (seeded per app) or `ctx.rng_for(key…)` (seeded per
  entity, so customer 17 is the same company whether 30 or 300 are seeded).
- Idempotent: rows with a natural key are created only when missing; rows without one (touchpoints, pulses)
  are generated for a customer only when it has none. A second run adds nothing and never overwrites what a
  person changed while trying the demo, but repairs whatever was deleted.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify

from .models import (
    Contact,
    Customer,
    CustomerQuerySet,
    LifecycleStage,
    Pulse,
    Role,
    Sentiment,
    Team,
    Touchpoint,
    TouchpointKind,
    User,
)

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


# --- People ---------------------------------------------------------------------------------------

TEAMS = ["Enterprise", "Mid-Market", "Growth/SMB"]
SEGMENTS = ["Enterprise", "Mid-Market", "SMB"]
TEAM_OF_SEGMENT = dict(zip(SEGMENTS, TEAMS, strict=True))

ADMIN = ("Alex Morgan", "alex")
MANAGERS = [
    ("Dana Whitfield", "dana", ["Enterprise"]),
    ("Marcus Bell", "marcus", ["Mid-Market", "Growth/SMB"]),
]
CSMS = [
    ("Priya Shah", "priya", "Enterprise"),
    ("Tom Becker", "tom", "Enterprise"),
    ("Elena Rossi", "elena", "Enterprise"),
    ("Jordan Lee", "jordan", "Mid-Market"),
    ("Aisha Okafor", "aisha", "Mid-Market"),
    ("Ben Carter", "ben", "Mid-Market"),
    ("Sofia Martinez", "sofia", "Growth/SMB"),
    ("Liam Novak", "liam", "Growth/SMB"),
    ("Hannah Kim", "hannah", "Growth/SMB"),
]


def demo_email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def _seed_people(ctx: DemoContext) -> tuple[dict[str, list[User]], dict[str, User]]:
    """Users and teams; returns the CSMs and the manager of each team."""
    specs: list[tuple[str, str, str]] = [(ADMIN[0], ADMIN[1], Role.ADMIN)]
    specs += [(name, local, Role.MANAGER) for name, local, _ in MANAGERS]
    specs += [(name, local, Role.CSM) for name, local, _ in CSMS]
    existing = {u.email: u for u in User.objects.filter(email__in=[demo_email(s[1]) for s in specs])}
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: the default hasher is slow on purpose
    users: dict[str, User] = {}
    for full_name, local, role in specs:
        email = demo_email(local)
        user = existing.get(email)
        is_admin = role == Role.ADMIN
        if user is None:
            user = User(email=email, full_name=full_name, role=role, password=password_hash)
        # Repair what the logins depend on; leave a changed password or name alone.
        user.role, user.is_active, user.is_staff, user.is_superuser = role, True, is_admin, is_admin
        user.save()
        users[local] = user

    teams = {team.name: team for team in Team.objects.filter(name__in=TEAMS)}
    for name in TEAMS:
        if name not in teams:
            teams[name] = Team.objects.create(name=name)
    managers: dict[str, User] = {}
    for _, local, team_names in MANAGERS:
        for team_name in team_names:
            team = teams[team_name]
            if team.manager_id != users[local].pk:
                team.manager = users[local]
                team.save(update_fields=["manager"])
            managers[team_name] = users[local]
    csms: dict[str, list[User]] = {name: [] for name in TEAMS}
    for _, local, team_name in CSMS:
        teams[team_name].members.add(users[local])
        csms[team_name].append(users[local])

    ctx.logins.append((Role.ADMIN, users[ADMIN[1]].email, f"{ADMIN[0]} — admin and Django superuser"))
    for name, local, team_names in MANAGERS:
        ctx.logins.append((Role.MANAGER, users[local].email, f"{name} — manages {' and '.join(team_names)}"))
    for name, local, team_name in CSMS:
        ctx.logins.append((Role.CSM, users[local].email, f"{name} — {team_name}"))
    return csms, managers


# --- Customers ------------------------------------------------------------------------------------

NAME_HEADS = [
    "Northwind", "Bluefin", "Copperleaf", "Brightwater", "Ironbridge", "Silverline", "Redwood", "Harborview",
    "Summit", "Pinecrest", "Lakeshore", "Keystone", "Evergreen", "Granite", "Maplewood", "Beacon", "Cobalt",
    "Falcon", "Juniper", "Meridian", "Orchard", "Quarry", "Sterling", "Tidewater", "Vantage", "Willow",
    "Atlas", "Crescent", "Driftwood", "Foxglove", "Highland", "Aurora", "Bramble", "Cedar", "Delta", "Ember",
    "Fairview", "Glacier", "Horizon", "Indigo", "Kestrel", "Lumen", "Mosaic", "Nimbus", "Oakridge", "Polaris",
    "Quantum", "Riverbend", "Saffron", "Trillium", "Upland", "Verdant", "Westgate", "Zephyr", "Alder",
    "Bayside", "Canyon", "Dune", "Elmstead", "Fieldstone",
]  # fmt: skip
NAME_TAILS = [
    "Logistics", "Health", "Analytics", "Foods", "Labs", "Systems", "Capital", "Manufacturing", "Retail",
    "Insurance", "Energy", "Software", "Partners", "Dental Group", "Freight", "Hospitality", "Media",
    "Biotech", "Engineering", "Outfitters", "Clinics", "Credit Union", "Robotics", "Telecom", "Architects",
    "Realty", "Learning", "Pharma", "Legal", "Construction", "Brewing", "Apparel", "Aerospace", "Marine",
]  # fmt: skip
LEGAL_FORMS = ["", "", "", "", " Inc.", " Ltd", " Group", " Co.", " GmbH", " LLC"]

FIRST_NAMES = [
    "Olivia", "Noah", "Emma", "Liam", "Ava", "Mateo", "Sophia", "Lucas", "Mia", "Ethan", "Amara", "Kenji",
    "Isabella", "Omar", "Chloe", "Ravi", "Grace", "Diego", "Zoe", "Samuel", "Leah", "Arjun", "Nora", "Felix",
    "Maya", "Daniel", "Ines", "Tobias", "Yara", "Hugo", "Clara", "Jonas", "Fatima", "Oscar", "Lena", "Adrian",
    "Mei", "Victor", "Ruth", "Kwame", "Julia", "Anton", "Sara", "Malik", "Elise", "Pedro", "Hana", "George",
]  # fmt: skip
LAST_NAMES = [
    "Anderson", "Nguyen", "Garcia", "Müller", "Patel", "Johnson", "Kowalski", "Tanaka", "Okonkwo", "Silva",
    "Brown", "Haddad", "Larsen", "Dubois", "Khan", "Rossi", "Schmidt", "Walker", "Ivanova", "Costa", "Chen",
    "Murphy", "Fischer", "Moreau", "Singh", "Novak", "Reyes", "Bauer", "Hughes", "Sato", "Mensah",
    "Lindqvist", "O'Brien", "Romero", "Weber", "Kaur", "Ali", "Jansen", "Morales", "Park", "Evans",
    "Nakamura", "Fernandes",
]  # fmt: skip
TITLES_SPONSOR = ["VP Operations", "COO", "Head of Customer Experience", "VP Sales Operations", "CFO", "CTO"]
TITLES_CHAMPION = [
    "Operations Manager", "Head of Data", "Director of Analytics", "Product Owner", "RevOps Lead",
    "Program Manager", "Director of IT",
]  # fmt: skip
TITLES_USER = [
    "Analyst", "Team Lead", "IT Administrator", "Support Manager", "Finance Manager", "Office Manager",
    "Data Engineer", "Project Coordinator", "Procurement Specialist",
]  # fmt: skip

SEGMENT_SHARE = [("Enterprise", 0.15), ("Mid-Market", 0.35), ("SMB", 0.50)]
LICENSES = {"Enterprise": (250, 3000, 50), "Mid-Market": (40, 250, 5), "SMB": (5, 40, 1)}
CONTACTS_PER_CUSTOMER = {"Enterprise": (3, 5), "Mid-Market": (2, 4), "SMB": (2, 3)}
# How each relationship moves over the year, as a pulse-like mood from start to end of the window.
TRAJECTORIES = {
    "healthy": (4.3, 4.5),
    "steady": (3.4, 3.3),
    "declining": (4.0, 2.0),
    "recovering": (2.2, 4.0),
}
TRAJECTORY_SHARE = [("healthy", 0.50), ("steady", 0.28), ("declining", 0.14), ("recovering", 0.08)]
NO_CSM_EVERY = 29  # customers 7, 36, 65, … have lost their CSM (a departure), awaiting reassignment


def _weighted(rng: random.Random, pairs: Iterable[tuple[Any, float]]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _anniversary(start: dt.date, year: int) -> dt.date:
    try:
        return start.replace(year=year)
    except ValueError:  # 29 February
        return start.replace(year=year, day=28)


@dataclass
class CustomerPlan:
    """Everything about one demo customer, derived from its index alone (plus today)."""

    index: int
    external_id: str
    name: str
    domain: str
    segment: str
    team: str
    csm_slot: int | None  # index into the team's CSMs; None: no CSM
    licenses: int
    contract_start: dt.date
    go_live_date: dt.date | None
    renewal_date: dt.date
    lifecycle_stage: str
    trajectory: str
    churned_on: dt.date | None
    quiet_days: int  # the CSM stopped logging this many days before the end of the window


def _company_names(ctx: DemoContext, count: int) -> list[tuple[str, str]]:
    """`count` distinct (display name, domain) pairs, in the same order for any count."""
    combos = [(head, tail) for head in NAME_HEADS for tail in NAME_TAILS]
    ctx.rng_for("company-names").shuffle(combos)
    names = []
    for i in range(count):
        head, tail = combos[i % len(combos)]
        base = f"{head} {tail}" + (f" {i // len(combos) + 1}" if i >= len(combos) else "")
        form = ctx.rng_for("legal-form", i).choice(LEGAL_FORMS)
        names.append((base + form, f"{slugify(base)}.example"))  # .example: mail to contacts goes nowhere
    return names


def plan_customers(ctx: DemoContext, count: int) -> list[CustomerPlan]:
    today = ctx.today
    plans = []
    for i, (name, domain) in enumerate(_company_names(ctx, count), start=1):
        rng = ctx.rng_for("customer", i)
        segment = _weighted(rng, SEGMENT_SHARE)
        low, high, step = LICENSES[segment]
        contract_start = today - dt.timedelta(days=rng.randint(10, 3 * 365))
        go_live: dt.date | None = contract_start + dt.timedelta(days=rng.randint(14, 70))
        if go_live > today:
            go_live = None  # not live yet
        renewal = _anniversary(contract_start, today.year)
        while renewal <= today:
            renewal = _anniversary(contract_start, renewal.year + 1)
        trajectory = _weighted(rng, TRAJECTORY_SHARE)
        churned_on = None
        last_renewal = _anniversary(contract_start, renewal.year - 1)
        if last_renewal > contract_start and (today - last_renewal).days < 300 and rng.random() < 0.09:
            churned_on, renewal, trajectory = last_renewal, last_renewal, "declining"
        if churned_on:
            stage = LifecycleStage.CHURNED
        elif (renewal - today).days < 60:
            stage = LifecycleStage.AT_RENEWAL
        elif go_live is None or (today - go_live).days < 90:
            stage = LifecycleStage.ONBOARDING
        elif (today - go_live).days < 365:
            stage = LifecycleStage.ADOPTING
        else:
            stage = LifecycleStage.MATURE
        quiet = rng.choice([0, 0, 0, 70, 90]) if trajectory == "declining" else rng.choice([0] * 15 + [65])
        csm_slot = None if i % NO_CSM_EVERY == 7 else rng.randrange(3)
        if csm_slot is None:
            quiet = max(quiet, 40)  # nobody has logged anything since their CSM left
        plans.append(
            CustomerPlan(
                index=i,
                external_id=f"{DEMO_PREFIX}{i:04d}",
                name=name,
                domain=domain,
                segment=segment,
                team=TEAM_OF_SEGMENT[segment],
                csm_slot=csm_slot,
                licenses=rng.randrange(low, high + 1, step),
                contract_start=contract_start,
                go_live_date=go_live,
                renewal_date=renewal,
                lifecycle_stage=stage,
                trajectory=trajectory,
                churned_on=churned_on,
                quiet_days=quiet,
            )
        )
    return plans


def _contacts_for(ctx: DemoContext, plan: CustomerPlan, customer_id: int) -> list[Contact]:
    rng = ctx.rng_for("contacts", plan.index)
    low, high = CONTACTS_PER_CUSTOMER[plan.segment]
    contacts: list[Contact] = []
    seen: set[str] = set()
    wanted = rng.randint(low, high)
    while len(contacts) < wanted:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{slugify(first)}.{slugify(last).replace('-', '')}"
        if local in seen:
            continue
        seen.add(local)
        n = len(contacts)
        title = rng.choice(TITLES_SPONSOR if n == 0 else TITLES_CHAMPION if n == 1 else TITLES_USER)
        unsubscribed = None
        if rng.random() < 0.06:
            unsubscribed = ctx.at(ctx.today - dt.timedelta(days=rng.randint(3, 300)), rng.randint(8, 18))
        contacts.append(
            Contact(
                customer_id=customer_id,
                email=f"{local}@{plan.domain}",
                name=f"{first} {last}",
                title=title,
                unsubscribed_at=unsubscribed,
            )
        )
    return contacts


# --- Activity: touchpoints and pulses -------------------------------------------------------------

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


def _activity_for(
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
        events.append((day, _weighted(rng, KIND_MIX[plan.segment])))
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


def _bulk(model: type, rows: list, batch_size: int = 2000) -> list:
    return model.objects.bulk_create(rows, batch_size=batch_size)


def seed(ctx: DemoContext) -> None:
    """People, teams, customers with contacts, and a year of touchpoints and pulses."""
    csms, managers = _seed_people(ctx)
    plans = plan_customers(ctx, ctx.customers)

    def csm_of(plan: CustomerPlan) -> User | None:
        return None if plan.csm_slot is None else csms[plan.team][plan.csm_slot % len(csms[plan.team])]

    existing = set(ctx.demo_customers().values_list("external_id", flat=True))
    _bulk(
        Customer,
        [
            Customer(
                external_id=p.external_id,
                name=p.name,
                segment=p.segment,
                csm=csm_of(p),
                licenses=p.licenses,
                contract_start=p.contract_start,
                go_live_date=p.go_live_date,
                renewal_date=p.renewal_date,
                lifecycle_stage=p.lifecycle_stage,
            )
            for p in plans
            if p.external_id not in existing
        ],
    )
    ids = dict(ctx.demo_customers().values_list("external_id", "id"))
    ctx.log(f"customers: {len(ids)} ({len(ids) - len(existing & ids.keys())} new)")

    have_contacts = set(
        Contact.objects.filter(customer_id__in=ids.values()).values_list("customer_id", "email")
    )
    new_contacts = [
        c
        for p in plans
        for c in _contacts_for(ctx, p, ids[p.external_id])
        if (c.customer_id, c.email) not in have_contacts
    ]
    _bulk(Contact, new_contacts)
    # Sorted by email in Python, not SQL: collations differ between SQLite and PostgreSQL.
    contacts_of: dict[int, list[tuple[int, str]]] = {}
    for _email, pk, customer_id, name in sorted(
        Contact.objects.filter(customer_id__in=ids.values()).values_list("email", "pk", "customer_id", "name")
    ):
        contacts_of.setdefault(customer_id, []).append((pk, name))
    ctx.log(f"contacts: {sum(map(len, contacts_of.values()))} ({len(new_contacts)} new)")

    # Customers that already have touchpoints / pulses keep them; the others get their year of history.
    with_touchpoints = set(
        Touchpoint.objects.filter(customer_id__in=ids.values())
        .values_list("customer_id", flat=True)
        .distinct()
    )
    with_pulses = set(
        Pulse.objects.filter(customer_id__in=ids.values()).values_list("customer_id", flat=True).distinct()
    )
    new_touchpoints: list[tuple[Touchpoint, list[int]]] = []
    new_pulses: list[Pulse] = []
    for plan in plans:
        customer_id = ids[plan.external_id]
        if customer_id in with_touchpoints and customer_id in with_pulses:
            continue
        author = csm_of(plan) or managers[plan.team]
        touchpoints, pulses = _activity_for(ctx, plan, customer_id, author, contacts_of.get(customer_id, []))
        if customer_id not in with_touchpoints:
            new_touchpoints += touchpoints
        if customer_id not in with_pulses:
            new_pulses += pulses
    created = _bulk(Touchpoint, [t for t, _ in new_touchpoints])
    through = Touchpoint.contacts.through
    _bulk(
        through,
        [
            through(touchpoint_id=t.pk, contact_id=contact_id)
            for t, (_, involved) in zip(created, new_touchpoints, strict=True)
            for contact_id in involved
        ],
    )
    _bulk(Pulse, new_pulses)
    ctx.log(f"touchpoints: {len(new_touchpoints)} new; pulses: {len(new_pulses)} new")


def book_sizes() -> dict[str, int]:
    """Demo users' email → number of customers in their book (CSMs only), for the closing summary."""
    rows = (
        User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}", role=Role.CSM)
        .annotate(n=Count("customers"))
        .values_list("email", "n")
    )
    return dict(rows)
