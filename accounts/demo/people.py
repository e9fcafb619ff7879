"""The demo company's people: an admin, two managers and nine CSMs in three teams, with their logins."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password

from ..models import Role, Team, User
from .context import DEMO_DOMAIN, DEMO_PASSWORD, DemoContext

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


def seed_people(ctx: DemoContext) -> tuple[dict[str, list[User]], dict[str, User]]:
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
