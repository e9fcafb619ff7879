"""`manage.py create_user <email> --role csm|manager|admin [--team NAME] [--password P] [--name NAME]`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts.models import Role, User
from accounts.services import user_create


class Command(BaseCommand):
    help = "Create a cshub user, or update the role, name, password or team of an existing one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--role", required=True, help=f"One of: {', '.join(Role.values)}.")
        parser.add_argument("--team", help="Team name (created if missing); a manager becomes its manager.")
        parser.add_argument("--password", help="Without it the user cannot log in until a password is set.")
        parser.add_argument("--name", default="", help="Full name.")

    def handle(
        self,
        *args: Any,
        email: str,
        role: str,
        team: str | None,
        password: str | None,
        name: str,
        **options: Any,
    ) -> None:
        email = email.strip()
        role = role.strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not a valid email address.") from exc
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}: use one of {', '.join(Role.values)}.")
        if password:
            try:
                validate_password(password, User(email=email, full_name=name))
            except ValidationError as exc:
                raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        existed = User.objects.filter(email__iexact=email).exists()
        try:
            user = user_create(email=email, role=role, password=password, full_name=name, team=team)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        action = "Updated" if existed else "Created"
        where = f" in team {team!r}" if team else ""
        self.stdout.write(self.style.SUCCESS(f"{action} {user.get_role_display()} {user.email}{where}."))
        if not user.has_usable_password():
            self.stdout.write("No password set: pass --password, or use `manage.py changepassword`.")
