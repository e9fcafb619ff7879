"""The demo customers and their contacts. Each customer's plan (segment, contract, trajectory, CSM slot…) is
derived from its index alone, so other apps' demo parts can re-plan the same customers (plan_customers)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.text import slugify

from ..models import Contact, LifecycleStage
from .context import DEMO_PREFIX, DemoContext, weighted
from .people import TEAM_OF_SEGMENT

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
        segment = weighted(rng, SEGMENT_SHARE)
        low, high, step = LICENSES[segment]
        contract_start = today - dt.timedelta(days=rng.randint(10, 3 * 365))
        go_live: dt.date | None = contract_start + dt.timedelta(days=rng.randint(14, 70))
        if go_live > today:
            go_live = None  # not live yet
        renewal = _anniversary(contract_start, today.year)
        while renewal <= today:
            renewal = _anniversary(contract_start, renewal.year + 1)
        trajectory = weighted(rng, TRAJECTORY_SHARE)
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


def contacts_for(ctx: DemoContext, plan: CustomerPlan, customer_id: int) -> list[Contact]:
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
