"""`manage.py sync_stripe [--since YYYY-MM-DD]`: backfill customers and subscriptions from Stripe
(docs/integrations.md#the-backfill)."""

from __future__ import annotations

import datetime as dt

import stripe
from django.core.management.base import BaseCommand, CommandError

from integrations.stripe_billing.sync import stripe_sync


class Command(BaseCommand):
    help = "Backfill Stripe customers and subscriptions into the MRR ledger; safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since", type=dt.date.fromisoformat, help="Only objects created on or after it."
        )

    def handle(self, *args, since: dt.date | None = None, **options) -> None:
        try:
            totals = stripe_sync(since=since)
        except (
            ValueError,
            stripe.StripeError,
        ) as exc:  # no key; Stripe refused (a wrong key, a network error)
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{totals['seen']:,} objects read; {totals['customers']:,} customers and "
            f"{totals['subscriptions']:,} subscription versions written, "
            f"{totals['ledger_rows']:,} ledger rows written, {totals['errors']:,} errors "
            "(see the Integrations page)."
        )
