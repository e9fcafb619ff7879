"""`python manage.py import_csv <kind> <file>`: validate every row, then write all of them or nothing."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.csv_import import KINDS, csv_import


class Command(BaseCommand):
    help = "Import a CSV file (header = the docs/api.md field names). Kinds: " + ", ".join(KINDS)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", type=Path)

    def handle(self, *args, kind: str, file: Path, **options) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        with file.open("rb") as fh:
            result = csv_import(kind=kind, file=fh)
        if not result.ok:
            width = max(len(e.field) for e in result.errors)
            lines = [f"{'line':>6}  {'column':<{width}}  message"]
            lines += [f"{e.row:>6}  {e.field:<{width}}  {e.message}" for e in result.errors]
            self.stderr.write("\n".join(lines))
            raise CommandError(
                f"{len({e.row for e in result.errors})} line(s) are invalid; nothing was written."
            )
        counts = ", ".join(f"{n} {name}" for name, n in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Imported {result.rows} {kind} row(s): {counts}."))
