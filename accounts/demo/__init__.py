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

accounts' own part, by job: context (what every part shares), people (users and teams), customers (plans and
contacts), activity (touchpoints and pulses); `seed` below puts them together. Each module imports only the
ones before it in that list.
"""

from __future__ import annotations

from django.db.models import Count

from ..models import Contact, Customer, Note, Pulse, Role, Touchpoint, User
from .activity import activity_for, notes_for
from .context import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_PREFIX, DemoContext
from .customers import TRAJECTORIES, CustomerPlan, contacts_for, plan_customers
from .people import seed_people

# What other apps' demo parts and seed_demo use.
__all__ = [
    "DEMO_DOMAIN",
    "DEMO_PASSWORD",
    "DEMO_PREFIX",
    "TRAJECTORIES",
    "CustomerPlan",
    "DemoContext",
    "book_sizes",
    "plan_customers",
    "seed",
]


def _bulk(model: type, rows: list, batch_size: int = 2000) -> list:
    return model.objects.bulk_create(rows, batch_size=batch_size)


def seed(ctx: DemoContext) -> None:
    """People, teams, customers with contacts, and a year of touchpoints, pulses and notes."""
    csms, managers = seed_people(ctx)
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
        for c in contacts_for(ctx, p, ids[p.external_id])
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
        touchpoints, pulses = activity_for(ctx, plan, customer_id, author, contacts_of.get(customer_id, []))
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

    with_notes = set(
        Note.objects.filter(customer_id__in=ids.values()).values_list("customer_id", flat=True).distinct()
    )
    new_notes = [
        note
        for plan in plans
        if ids[plan.external_id] not in with_notes
        for note in notes_for(
            ctx,
            plan,
            ids[plan.external_id],
            csm_of(plan) or managers[plan.team],
            contacts_of.get(ids[plan.external_id], []),
        )
    ]
    _bulk(Note, new_notes)
    ctx.log(f"notes: {len(new_notes)} new")


def book_sizes() -> dict[str, int]:
    """Demo users' email → number of customers in their book (CSMs only), for the closing summary."""
    rows = (
        User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}", role=Role.CSM)
        .annotate(n=Count("customers"))
        .values_list("email", "n")
    )
    return dict(rows)
