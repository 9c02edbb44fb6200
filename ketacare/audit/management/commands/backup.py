"""`ketacare backup --out FILE`: a consistent copy of the whole database (SQLite: the online backup API; PostgreSQL:
pg_dump's custom format), safe while the server runs. `ketacare restore FILE` puts one back."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ketacare.audit.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database to a new file."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="the backup file to write (must not exist)")
        parser.add_argument("--database", default="default")

    def handle(self, *args, out, database, **options):
        try:
            backup(connections[database], out)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"backed up to {out} ({out.stat().st_size:,} bytes)")
