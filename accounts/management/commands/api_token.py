"""`manage.py api_token <email>`: print a new API token for the user (docs/api.md#authentication)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from accounts.tokens import api_token_create, api_tokens_revoke_named

NAME = "manage.py api_token"


class Command(BaseCommand):
    help = (
        "Print a new API token for a user (Authorization: Token <key>). Tokens are stored hashed, so an "
        "existing one cannot be printed again; --rotate revokes the tokens this command made before."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--rotate", action="store_true", help="Revoke the tokens this command made for the user before."
        )
        parser.add_argument("--name", default=NAME, help=f"The new token's name (default: {NAME!r}).")

    def handle(self, *args: Any, email: str, rotate: bool, name: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the email {email!r} (create one with `manage.py create_user`).")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; its token would be refused.")
        with transaction.atomic():
            if rotate:
                api_tokens_revoke_named(user=user, name=name)
            _, key = api_token_create(user=user, name=name)
        # Only the key on stdout, so that `TOKEN=$(manage.py api_token x@y)` works.
        self.stdout.write(key)
