"""`ketacare redcap_export --user NAME --out DIR`: the clinic's de-identified REDCap project (data_dictionary.csv,
records.csv, manifest.json) for a researcher of that clinic."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.commands import command_user
from ketacare.core.errors import PermissionDenied
from ketacare.interop.exports import redcap_export, write


class Command(BaseCommand):
    help = "Write the clinic's de-identified REDCap data dictionary and records (research roles only)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="A researcher of the clinic")
        parser.add_argument("--out", required=True, help="Directory to write the three files into")

    def handle(self, *args, user, out, **options):
        actor = command_user(user)
        try:
            export = redcap_export(actor=actor)
        except PermissionDenied:
            raise CommandError(f"{user} may not export research data (a researcher's role is needed)") from None
        for name in write(export, Path(out)):
            self.stdout.write(str(Path(out) / name))
        self.stdout.write(f"{export.manifest['records']} records, {export.manifest['rows']} rows "
                          f"({export.manifest['rules']})")
