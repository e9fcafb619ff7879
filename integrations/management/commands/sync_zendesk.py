"""`python manage.py sync_zendesk [--since YYYY-MM-DD]`: tickets from Zendesk's incremental export."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.zendesk.client import ZendeskError
from integrations.zendesk.services import zendesk_sync


def day(value: str) -> dt.date:
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since: {value!r} is not a date (YYYY-MM-DD).") from None
    if not dt.date(1970, 1, 2) <= parsed <= dt.date(2100, 12, 31):
        raise CommandError("--since: a date from 1970-01-02 to 2100-12-31.")
    return parsed


class Command(BaseCommand):
    help = (
        "Create or update tickets from Zendesk's cursor-based incremental ticket export (docs/integrations.md"
        "#zendesk): all tickets, or those changed since --since. Safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=str, default=None, help="YYYY-MM-DD: tickets changed since then.")

    def handle(self, *args, since: str | None = None, **options) -> None:
        try:
            counts = zendesk_sync(since=day(since) if since else None)
        except ZendeskError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            "Zendesk: {pages} page(s); tickets created {created}, updated {updated}, unchanged {unchanged},"
            " skipped {skipped} (see the Integrations page).".format(
                **{"pages": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0, **counts}
            )
        )
