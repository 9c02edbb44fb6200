"""Demo: one patient referred with records from another system, imported from a Synthea bundle (FHIR R4) through
the import service, so that the chart shows its "Records from other systems" panel. Idempotent, as the import is."""

import json

from django.conf import settings

from ketacare.interop.services import bundle_import

DEMO_BUNDLE = "Huey641_Schmeler639_c33676f5-eeff-074c-2f45-529e3172281f.json"


def seed_imports(clinic, users: dict, today) -> None:
    path = settings.BASE_DIR / "fixtures" / "external" / "synthea" / DEMO_BUNDLE
    if not path.exists():  # an installed package without the repository's fixtures: the demo works without it
        return
    bundle_import(actor=users["nurse"], bundle=json.loads(path.read_text()), source_name=path.name)
