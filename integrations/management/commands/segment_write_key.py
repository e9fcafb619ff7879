"""`manage.py segment_write_key [--rotate]`: print the tracking API's write key, making it on first use
(docs/integrations.md#the-write-key)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from integrations.segment.keys import write_key_get_or_create, write_key_rotate


class Command(BaseCommand):
    help = "Print the Segment-spec tracking API's write key (created if needed); --rotate makes a new one."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the key; the old one stops working."
        )

    def handle(self, *args, rotate: bool = False, **options) -> None:
        self.stdout.write(write_key_rotate() if rotate else write_key_get_or_create())
