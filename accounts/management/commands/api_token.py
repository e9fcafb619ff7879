"""`manage.py api_token <email>`: print the user's API token (docs/api.md), creating it if needed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import User


class Command(BaseCommand):
    help = "Print a user's API token (Authorization: Token <key>), creating it if needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the existing token with a new one."
        )

    def handle(self, *args: Any, email: str, rotate: bool, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the email {email!r} (create one with `manage.py create_user`).")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; its token would be refused.")
        with transaction.atomic():
            if rotate:
                Token.objects.filter(user=user).delete()
            token, _ = Token.objects.get_or_create(user=user)
        # Only the key on stdout, so that `TOKEN=$(manage.py api_token x@y)` works.
        self.stdout.write(token.key)
