"""`ketacare clinic_export --user ADMIN --out DIR`: the clinic's whole record (FHIR NDJSON for the clinical record,
CSV per table for everything, the ledger and audit trail included, manifest.json with SHA-256s) for its admin."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.commands import command_user
from ketacare.core.errors import PermissionDenied
from ketacare.interop.leaving import clinic_export


class Command(BaseCommand):
    help = "Write the clinic's whole record (FHIR NDJSON + CSV per table + manifest) into a new directory."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The clinic's admin")
        parser.add_argument("--out", required=True, help="A new (or empty) directory")

    def handle(self, *args, user, out, **options):
        actor = command_user(user)
        try:
            manifest = clinic_export(actor=actor, out=Path(out))
        except PermissionDenied:
            raise CommandError(f"{user} may not export the clinic's record (a clinic admin's role is needed)") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        files = manifest["files"]
        fhir = sum(f["rows"] for f in files if f["path"].startswith("fhir/"))
        tables = [f for f in files if f["path"].startswith("tables/")]
        self.stdout.write(f"{Path(out) / 'manifest.json'}: {fhir} FHIR resources, {len(tables)} tables, "
                          f"{sum(f['rows'] for f in tables)} rows")
