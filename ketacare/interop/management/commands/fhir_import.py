"""`ketacare fhir_import --user NAME FILE.json [FILE.json ...]`: import patients' FHIR R4 Bundles (e.g. Synthea's)
into that user's clinic, one bundle at a time, each all or nothing; importing a bundle again adds nothing."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.commands import command_user
from ketacare.core.errors import DomainError
from ketacare.interop.services import BundleRefused, bundle_import


class Command(BaseCommand):
    help = "Import FHIR R4 Bundles of patients' records (all or nothing per bundle; idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="Bundle JSON files (one patient each)")
        parser.add_argument("--user", required=True, help="The importing user (a nurse or prescriber of the clinic)")

    def handle(self, *args, files, user, **options):
        actor = command_user(user)
        refused = 0
        for name in files:
            path = Path(name)
            try:
                bundle = json.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path} is not JSON: {exc}") from None
            try:
                result = bundle_import(actor=actor, bundle=bundle, source_name=path.name)
            except BundleRefused as exc:
                refused += 1
                self.stderr.write(f"{path.name}: {exc}")
                for problem in exc.problems:
                    self.stderr.write(f"  - {problem}")
                continue
            except DomainError as exc:
                raise CommandError(str(exc)) from None
            added = ", ".join(f"{n} {kind}" for kind, n in sorted(result.added.items())) or "nothing new"
            who = "new patient" if result.patient_created else "known patient"
            self.stdout.write(f"{path.name}: {who} #{result.patient.pk}; added {added}")
        if refused:
            raise CommandError(f"{refused} of {len(files)} bundle(s) refused; nothing of those was stored")
