"""The starter library every install ships (docs/playbooks.md): five playbooks with their triggers, enabled
and
editable. `playbooks_install_starter()` is idempotent (playbooks are recognised by `starter_key`, so a renamed
or edited starter playbook is left as the user made it); migration 0002 calls it and so does the demo seed."""

from __future__ import annotations

from typing import Any

STARTER: list[dict[str, Any]] = [
    {
        "key": "red_health_rescue",
        "name": "Red-health rescue",
        "purpose": "The customer's health entered the red band. Find out why within days, agree on a "
        "recovery plan with the sponsor and follow it until health is back to yellow or better.",
        "steps": [
            (
                "Review the health score and its reasons",
                "Open the customer page: which factors dropped (usage, "
                "support load, NPS, pulse)? Note the two that matter most.",
                0,
                "",
            ),
            (
                "Call the main sponsor",
                "Call the sponsor to hear their side; log the call as a touchpoint.",
                2,
                "call",
            ),
            (
                "Agree on a recovery plan",
                "Write down 2-3 concrete actions with owners and dates; share them in "
                "writing with the customer.",
                5,
                "",
            ),
            ("Check in on progress", "Meet again: are the actions done, is usage recovering?", 14, "meeting"),
        ],
        "triggers": [("band_entered", {"band": "red"}, 30)],
    },
    {
        "key": "detractor_follow_up",
        "name": "Detractor follow-up",
        "purpose": "A contact answered the NPS survey as a detractor. Close the loop fast: acknowledge, "
        "understand, fix what can be fixed and tell them.",
        "steps": [
            (
                "Read the answer and the account context",
                "Read the comment, recent tickets and the timeline.",
                0,
                "",
            ),
            ("Reach out to the detractor", "Thank them for the honest answer and ask for 20 minutes.", 1, ""),
            ("Hold the follow-up conversation", "Understand the root cause; log the call.", 5, "call"),
            ("Close the loop", "Tell the contact what changed or what will; record the outcome.", 14, ""),
        ],
        "triggers": [("nps_detractor", {"max_score": 6, "within_days": 14}, 30)],
    },
    {
        "key": "renewal_preparation",
        "name": "Renewal preparation",
        "purpose": "The renewal is 90 days out. Confirm value, surface risks and line up the commercial "
        "conversation early.",
        "steps": [
            (
                "Review the account before the renewal",
                "Usage, health trend, open tickets, stakeholders.",
                0,
                "",
            ),
            (
                "Hold a value review (QBR)",
                "Show outcomes achieved this term and the plan for the next.",
                21,
                "qbr",
            ),
            ("Confirm decision makers and process", "Who signs, procurement steps, budget timing.", 30, ""),
            (
                "Send the renewal proposal",
                "Share the proposal with the sponsor and agree on next steps.",
                45,
                "",
            ),
        ],
        "triggers": [("renewal_due", {"days": 90}, 0)],
    },
    {
        "key": "onboarding",
        "name": "Onboarding",
        "purpose": "A new customer signed. Get them live and to first value quickly.",
        "steps": [
            (
                "Hold the kickoff meeting",
                "Goals, success criteria, timeline and the team on both sides.",
                3,
                "meeting",
            ),
            ("Set up the account and integrations", "Users invited, data flowing, SSO if needed.", 10, ""),
            ("Train the admins and first users", "Run the training sessions; share the recordings.", 21, ""),
            (
                "Confirm first value",
                "Check the first success criterion is met; record the milestone.",
                45,
                "",
            ),
        ],
        "triggers": [("new_customer", {"within_days": 30}, 0)],
    },
    {
        "key": "usage_drop",
        "name": "Usage drop",
        "purpose": "Product usage fell sharply month over month. Find out whether it is seasonal, a change "
        "on their side, or a sign of churn.",
        "steps": [
            ("Look at usage by feature and user", "Which features and teams stopped? Since when?", 1, ""),
            (
                "Ask the champion what changed",
                "Reorganisation, a competitor, a broken integration?",
                4,
                "call",
            ),
            ("Plan the re-engagement", "Training, a workshop or a fix; agree on a date.", 10, ""),
        ],
        "triggers": [("usage_drop", {"percent": 30, "min_events": 20}, 45)],
    },
]


def playbooks_install_starter(apps: Any = None) -> int:
    """Create the starter playbooks that are missing (by `starter_key`); returns how many were created.

    `apps` is the migration state registry when called from a migration, the real models otherwise."""
    if apps is None:
        from .models import Playbook, Step, Trigger
    else:
        Playbook = apps.get_model("playbooks", "Playbook")
        Step = apps.get_model("playbooks", "Step")
        Trigger = apps.get_model("playbooks", "Trigger")
    existing = set(Playbook.objects.exclude(starter_key="").values_list("starter_key", flat=True))
    taken = {n.lower() for n in Playbook.objects.values_list("name", flat=True)}
    created = 0
    for spec in STARTER:
        if spec["key"] in existing:
            continue
        name = spec["name"] if spec["name"].lower() not in taken else f"{spec['name']} (starter)"
        playbook = Playbook.objects.create(
            name=name, purpose=spec["purpose"], enabled=True, starter_key=spec["key"]
        )
        for order, (title, guidance, due, kind) in enumerate(spec["steps"], start=1):
            Step.objects.create(
                playbook=playbook,
                order=order,
                title=title,
                guidance=guidance,
                due_after_days=due,
                required_touchpoint_kind=kind,
            )
        for condition, params, cooldown in spec["triggers"]:
            Trigger.objects.create(
                playbook=playbook, condition=condition, params=params, enabled=True, cooldown_days=cooldown
            )
        created += 1
    return created
