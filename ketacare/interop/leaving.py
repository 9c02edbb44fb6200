"""Leaving KetaCare: a clinic's whole record, for the clinic to take elsewhere.

    clinic_export(actor=<clinic admin>, out=Path("var/leaving"))  -> manifest (also written as manifest.json)

Two parts, one manifest with a SHA-256 and a row count per file:
- `fhir/<Type>.ndjson`: the clinical record as FHIR R4 (every patient's Patient, Observation, QuestionnaireResponse,
  Encounter, MedicationAdministration and Flag, corrections included; the shipped Questionnaires), the same
  resources the read API and Bulk Data serve — what another system can import;
- `tables/<app>.<model>.csv`: every table that belongs to the clinic (each row carrying its clinic), the ledger and
  the audit trail included, for everything FHIR has no place for. Credentials are left out: password hashes and
  the digests of patients' live links (`EXCLUDED_COLUMNS`).

Only a clinic admin may take it (it is the clinic's property, not one clinician's view), and taking it is audited.
The clinical reads go through the owning apps' selectors with a reader scoped to the admin's clinic.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import models

from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import PermissionDenied
from ketacare.core.models import Clinic
from ketacare.interop import bulk, selectors
from ketacare.interop.domain import resources as r

EXCLUDED_COLUMNS = {("accounts.user", "password"), ("portal.securelink", "token_sha256")}
FORMAT_VERSION = "1"
CHUNK = 200


@dataclass(frozen=True)
class _ClinicReader:
    """Reads the clinic's clinical record for its admin's export: patient and clinical views of that clinic only."""

    clinic_id: int
    clinic: Clinic
    pk: int
    is_active: bool = True
    is_authenticated: bool = True

    def has_perm_to(self, perm: Perm) -> bool:
        return perm in (Perm.PATIENT_VIEW, Perm.CLINICAL_VIEW)


def clinic_tables() -> list[type[models.Model]]:
    """Every model whose rows belong to a clinic (a `clinic` column), in a stable order."""
    found = [m for m in apps.get_models() if any(f.attname == "clinic_id" for f in m._meta.concrete_fields)]
    return sorted(found, key=lambda m: m._meta.label_lower)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Digesting:
    """A text file that counts its rows and digests its bytes as they are written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.handle, self.sha, self.rows = path, path.open("w", encoding="utf-8", newline=""), \
            hashlib.sha256(), 0

    def write(self, text: str) -> int:
        self.sha.update(text.encode())
        return self.handle.write(text)

    def close(self, root: Path) -> dict[str, Any]:
        self.handle.close()
        return {"path": self.path.relative_to(root).as_posix(), "rows": self.rows, "sha256": self.sha.hexdigest(),
                "bytes": self.path.stat().st_size}


def _write_table(model: type[models.Model], clinic_id: int, root: Path) -> dict[str, Any]:
    label = model._meta.label_lower
    columns = [f.attname for f in model._meta.concrete_fields if (label, f.attname) not in EXCLUDED_COLUMNS]
    out = _Digesting(root / "tables" / f"{label}.csv")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in model._base_manager.filter(clinic_id=clinic_id).order_by("pk").values_list(*columns).iterator(2000):
        writer.writerow([_cell(v) for v in row])
        out.rows += 1
    return out.close(root)


def _write_fhir(reader: _ClinicReader, root: Path) -> list[dict[str, Any]]:
    files: dict[str, _Digesting] = {}

    def emit(resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        if kind not in files:
            files[kind] = _Digesting(root / "fhir" / f"{kind}.ndjson")
        files[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
        files[kind].rows += 1

    for q in selectors.questionnaires():
        emit(q)
    patients = selectors.patients_for(user=reader)
    ids = list(patients.values_list("pk", flat=True))
    types = set(bulk.PATIENT_TYPES)
    for start in range(0, len(ids), CHUNK):
        chunk = list(patients.filter(pk__in=ids[start:start + CHUNK]).order_by("pk"))
        found = selectors.compartments(user=reader, patients=chunk, types=types)
        for patient in chunk:
            emit(selectors.patient_resource(patient))
            for resource in found[patient.pk]:
                emit(resource)
    return [files[k].close(root) for k in sorted(files)]


def clinic_export(*, actor: Any, out: Path) -> dict[str, Any]:
    """Write the clinic's whole record under `out` (which must be empty or absent); return the manifest."""
    if not (actor.has_perm_to(Perm.STAFF_MANAGE) and actor.has_perm_to(Perm.CLINIC_CONFIGURE)):
        raise PermissionDenied("Only a clinic admin may export the clinic's whole record.")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: choose a new directory (nothing is overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    now = clock.now()
    clinic = Clinic.objects.get(pk=actor.clinic_id)
    reader = _ClinicReader(clinic_id=clinic.pk, clinic=clinic, pk=actor.pk)
    fhir_files = _write_fhir(reader, out)
    clinic_file = _Digesting(out / "tables" / "core.clinic.csv")
    writer = csv.writer(clinic_file, lineterminator="\n")
    columns = [f.attname for f in Clinic._meta.concrete_fields]
    writer.writerow(columns)
    writer.writerow([_cell(getattr(clinic, c)) for c in columns])
    clinic_file.rows = 1
    # The audit event of this export is written first, so that the exported trail ends with it.
    audit_record(actor=actor, action=AuditAction.CLINIC_EXPORTED, clinic_id=clinic.pk,
                 data={"format": FORMAT_VERSION, "at": r.instant(now)})
    table_files = [clinic_file.close(out)] + [_write_table(m, clinic.pk, out) for m in clinic_tables()]
    manifest = {
        "format": f"ketacare-clinic-export/{FORMAT_VERSION}",
        "clinic": {"id": clinic.pk, "name": clinic.name},
        "created_at": r.instant(now),
        "fhir_version": "4.0.1",
        "files": fhir_files + table_files,
        "excluded_columns": sorted(f"{t}.{c}" for t, c in EXCLUDED_COLUMNS),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest
