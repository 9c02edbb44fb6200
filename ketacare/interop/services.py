"""Importing a patient's FHIR R4 Bundle: all or nothing, idempotent, audited.

Every resource is first validated as FHIR R4 (fhir.resources, R4B models: the one place KetaCare imports them), then
read for what KetaCare keeps (interop/domain/bundle.py). Any problem refuses the whole bundle with a report naming
each one; nothing is stored. A bundle already imported changes nothing: the patient is recognised by their
identifier in the sending system, each observation and medication by its id there.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from fhir.resources.R4B import get_fhir_model_class

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError
from ketacare.interop.domain.bundle import ParsedBundle, parse_bundle
from ketacare.interop.models import ExternalIdentity, ImportedMedication, ImportedObservation, ImportRun
from ketacare.patients import selectors as patient_selectors
from ketacare.patients import services as patient_services

MAX_PROBLEMS = 200


class BundleRefused(DomainError):
    """The bundle was refused whole; `problems` names each reason."""

    code = "bundle_refused"
    http_status = 422

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        super().__init__(f"The bundle was not imported: {len(problems)} problem(s){more}.")
        self.problems = shown


@dataclass
class ImportResult:
    patient: Any
    patient_created: bool
    added: dict[str, int] = field(default_factory=dict)
    already_present: dict[str, int] = field(default_factory=dict)
    not_imported: dict[str, int] = field(default_factory=dict)
    run: ImportRun | None = None

    @property
    def changed(self) -> bool:
        return self.patient_created or any(self.added.values())


def structural_problems(bundle: Any) -> list[str]:
    """Each entry that is not a valid FHIR R4 resource, with the first errors pydantic reports for it."""
    if not isinstance(bundle, dict):
        return ["the file is not a JSON object"]
    problems = []
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or "resourceType" not in resource:
            problems.append(f"entry {index}: no resource with a resourceType")
            continue
        where = f"entry {index} ({resource['resourceType']}/{resource.get('id', '?')})"
        try:
            model = get_fhir_model_class(resource["resourceType"])
        except KeyError:
            problems.append(f"{where}: {resource['resourceType']!r} is not a FHIR R4 resource type")
            continue
        try:
            model.model_validate(resource)
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, or fhir.resources' own
            errors = getattr(exc, "errors", None)
            details = ([f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors()[:3]]
                       if callable(errors) else [str(exc)[:200]])
            problems.append(f"{where}: not valid FHIR R4 ({'; '.join(details)})")
    return problems


def _patient_fields(parsed: ParsedBundle) -> dict[str, Any]:
    p = parsed.patient
    assert p is not None
    return {"given_name": p.given_name, "family_name": p.family_name, "date_of_birth": p.birth_date, "sex": p.sex,
            "phone": p.phone, "address_line": p.address_line, "city": p.city, "state": p.state,
            "postal_code": p.postal_code}


def bundle_import(*, actor, bundle: Any, source_name: str) -> ImportResult:
    """Import one patient's bundle into the actor's clinic. Raises BundleRefused (nothing stored) on any problem."""
    require(actor, Perm.PATIENT_CREATE)
    require(actor, Perm.CLINICAL_RECORD)
    digest = hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()
    problems = structural_problems(bundle)
    parsed = parse_bundle(bundle) if isinstance(bundle, dict) else ParsedBundle(problems=[])
    problems += parsed.problems
    if problems or parsed.patient is None:
        _refuse(actor, source_name, digest, problems or ["no patient"])
    try:
        with transaction.atomic():
            result = _store(actor, bundle, parsed, source_name, digest)
    except ValidationError as exc:
        _refuse(actor, source_name, digest, [f"Patient: {field}: {' '.join(messages)}"
                                             for field, messages in exc.message_dict.items()])
    return result


def _refuse(actor, source_name: str, digest: str, problems: list[str]):
    audit_record(actor=actor, action=AuditAction.FHIR_IMPORT_REFUSED, clinic_id=actor.clinic_id,
                 data={"source": source_name[:200], "sha256": digest, "problems": len(problems)})
    raise BundleRefused(problems)


def _resources_by_id(bundle: dict, resource_type: str) -> dict[str, dict]:
    return {str(r.get("id")): r for e in bundle.get("entry", []) if (r := e.get("resource") or {})
            and r.get("resourceType") == resource_type}


def _store(actor, bundle: dict, parsed: ParsedBundle, source_name: str, digest: str) -> ImportResult:
    facts = parsed.patient
    assert facts is not None
    now = clock.now()
    identity = (ExternalIdentity.objects.select_for_update()
                .filter(clinic_id=actor.clinic_id, system=facts.identity_system, value=facts.identity_value).first())
    if identity is not None:
        patient = patient_selectors.patient_get_for(user=actor, patient_id=identity.patient_id)
        created = False
    else:
        patient = patient_services.patient_create(actor=actor, **_patient_fields(parsed))
        ExternalIdentity.objects.create(clinic_id=actor.clinic_id, patient=patient, system=facts.identity_system,
                                        value=facts.identity_value, created_at=now)
        created = True
    have_obs = set(ImportedObservation.objects.filter(patient=patient).values_list("source_id", flat=True))
    have_meds = set(ImportedMedication.objects.filter(patient=patient).values_list("source_id", flat=True))
    new_obs = [o for o in parsed.observations if o.source_id not in have_obs]
    new_meds = [m for m in parsed.medications if m.source_id not in have_meds]
    result = ImportResult(
        patient=patient, patient_created=created,
        added=dict(Counter(o.kind for o in new_obs) + Counter({"medication": len(new_meds)})),
        already_present=dict(Counter(o.kind for o in parsed.observations if o.source_id in have_obs)
                             + Counter({"medication": len(parsed.medications) - len(new_meds)})),
        not_imported=dict(parsed.skipped))
    if result.changed:
        run = ImportRun.objects.create(
            clinic_id=actor.clinic_id, source_name=source_name[:200], sha256=digest, patient=patient,
            patient_created=created, added=result.added, already_present=result.already_present,
            not_imported=result.not_imported, created_by=actor, created_at=now)
        observations = _resources_by_id(bundle, "Observation")
        ImportedObservation.objects.bulk_create([ImportedObservation(
            clinic_id=actor.clinic_id, patient=patient, run=run, source_id=o.source_id, kind=o.kind, code=o.code,
            label=o.label, effective_at=o.effective_at, value=o.value, systolic=o.systolic, diastolic=o.diastolic,
            unit=o.unit, resource=observations.get(o.source_id, {})) for o in new_obs])
        requests = _resources_by_id(bundle, "MedicationRequest")
        ImportedMedication.objects.bulk_create([ImportedMedication(
            clinic_id=actor.clinic_id, patient=patient, run=run, source_id=m.source_id, code_system=m.code_system,
            code=m.code, display=m.display, status=m.status, authored_on=m.authored_on,
            resource=requests.get(m.source_id, {})) for m in new_meds])
        result.run = run
    audit_record(actor=actor, action=AuditAction.FHIR_IMPORTED, target=result.run, patient_id=patient.pk,
                 clinic_id=actor.clinic_id,
                 data={"source": source_name[:200], "sha256": digest, "patient_created": created,
                       "added": result.added, "already_present": result.already_present})
    return result
