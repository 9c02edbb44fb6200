"""`ketacare restore FILE [--force]`: restore a backup made by `ketacare backup` into the database DATABASE_URL names,
then verify the audit chain. A database with tables in it is refused unless --force (which replaces it)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ketacare.audit.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup into an empty database and verify its audit chain."

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path)
        parser.add_argument("--force", action="store_true", help="replace a database that is not empty")
        parser.add_argument("--database", default="default")

    def handle(self, *args, backup, force, database, **options):
        settings_dict = connections[database].settings_dict
        connections[database].close()  # the file (SQLite) or database is written by another connection
        try:
            events = restore(settings_dict, backup, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {backup} into {settings_dict['NAME']}; audit chain intact ({events:,} events)")
