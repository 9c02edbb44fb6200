"""`ketacare instruments list` and `ketacare instruments import FILE.json [--key K] [--version V] [--bands-from KEY]
[--clinic CODE]`: import any FHIR R4 Questionnaire whose answer options carry weights (ordinalValue/itemWeight)."""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketacare.core.errors import DomainError
from ketacare.core.models import Clinic
from ketacare.instruments import selectors, services
from ketacare.instruments.domain.model import InvalidDefinition


class Command(BaseCommand):
    help = "List instruments, or import a FHIR R4 Questionnaire as a versioned instrument definition."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Shipped and imported instruments with their versions")
        imp = sub.add_parser("import", help="Import a FHIR R4 Questionnaire (JSON)")
        imp.add_argument("file", help="Path to the Questionnaire JSON file")
        imp.add_argument("--key", help="Instrument key (default: the Questionnaire's id, else its name)")
        imp.add_argument("--version", dest="definition_version",
                         help="Published version (default: the Questionnaire's version, else 1.0.0)")
        imp.add_argument("--bands-from", default="",
                         help="Apply the severity bands and direction of this shipped instrument (e.g. phq-9)")
        imp.add_argument("--clinic", help="Clinic code: make it available to this clinic only (default: all)")

    def handle(self, *args, **options):
        if options["action"] == "list":
            return self._list()
        return self._import(options)

    def _list(self):
        for instrument in selectors.shipped_instruments().values():
            licensed = " (licensed text: load per clinic)" if instrument.licensed else ""
            self.stdout.write(f"{instrument.key}@{instrument.version}\tshipped\t{instrument.title}{licensed}")
        for row in selectors.ImportedInstrument.objects.select_related("clinic").order_by("key", "id"):
            owner = row.clinic.code if row.clinic else "all clinics"
            self.stdout.write(f"{row.key}@{row.version}\timported {row.imported_at:%Y-%m-%d} ({owner})\t{row.title}")

    def _import(self, options):
        path = Path(options["file"])
        try:
            source = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} is not JSON: {exc}") from None
        clinic = None
        if options.get("clinic"):
            clinic = Clinic.objects.filter(code=options["clinic"]).first()
            if clinic is None:
                raise CommandError(f"no clinic with code {options['clinic']!r}")
        try:
            row, created = services.instrument_import(
                source=source, key=options.get("key"), version=options.get("definition_version"),
                bands_from=options.get("bands_from") or "", clinic=clinic)
        except (InvalidDefinition, DomainError) as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        instrument = selectors.imported_instrument(row)
        if created:
            self.stdout.write(self.style.SUCCESS(
                f"imported {row.key}@{row.version}: {len(instrument.scored_items)} scored items, "
                f"total {_range(instrument)}"))
        else:
            self.stdout.write(f"{row.key}@{row.version} is already imported with the same content: nothing to do")


def _range(instrument) -> str:
    low, high = instrument.total_range
    return f"{low}-{high}"
