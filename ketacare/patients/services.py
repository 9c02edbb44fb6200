"""Creating and changing patients (each writes its audit row in the same transaction), and recording who looked at
them."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient

EDITABLE_FIELDS = (
    "mrn", "given_name", "family_name", "date_of_birth", "sex", "phone", "email", "address_line", "city", "state",
    "postal_code", "emergency_contact_name", "emergency_contact_phone",
)


def _clean_text(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}


MRN_TAKEN = "Another patient in this clinic already has this MRN."


def _check_mrn_free(patient: Patient) -> None:
    if Patient.objects.filter(clinic_id=patient.clinic_id, mrn=patient.mrn).exclude(pk=patient.pk).exists():
        raise ValidationError({"mrn": MRN_TAKEN})


def _next_mrn(clinic_id: int) -> str:
    clinic = Clinic.objects.select_for_update().get(pk=clinic_id)
    number = clinic.next_mrn
    Clinic.objects.filter(pk=clinic_id).update(next_mrn=number + 1)
    return f"{clinic.code.upper()}-{number:06d}"


@transaction.atomic
def patient_create(*, actor, **fields: Any) -> Patient:
    """Register a patient in the actor's clinic; a blank MRN gets the clinic's next number."""
    fields = _clean_text(fields)
    if not fields.get("mrn"):
        fields["mrn"] = _next_mrn(actor.clinic_id)
    now = clock.now()
    patient = Patient(clinic_id=actor.clinic_id, created_at=now, updated_at=now, **fields)
    patient.full_clean(validate_constraints=False)
    _check_mrn_free(patient)
    patient.save()
    audit_record(actor=actor, action=AuditAction.PATIENT_CREATED, target=patient, patient_id=patient.pk,
                 data={"fields": sorted(k for k, v in fields.items() if v not in ("", None))})
    return patient


@transaction.atomic
def patient_update(*, actor, patient: Patient, **fields: Any) -> Patient:
    """Change identity/contact fields; the audit row keeps the previous values of what changed."""
    fields = _clean_text(fields)
    current = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = {}
    for name, value in fields.items():
        old = getattr(current, name)
        if old != value:
            changed[name] = [_jsonable(old), _jsonable(value)]
            setattr(current, name, value)
    if not changed:
        return current
    current.updated_at = clock.now()
    current.full_clean(validate_constraints=False)
    _check_mrn_free(current)
    current.save()
    audit_record(actor=actor, action=AuditAction.PATIENT_UPDATED, target=current, patient_id=current.pk,
                 data={"changed": changed})
    return current


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# The two reads below change nothing, so their audit row is one INSERT, atomic on its own: no transaction is opened
# for it (two round trips fewer on every chart page and every search keystroke).


def patient_viewed(*, actor, patient: Patient, via: str) -> None:
    """Record that the actor opened this patient's record (chart page, API read, export)."""
    audit_record(actor=actor, action=AuditAction.PATIENT_VIEWED, target=patient, patient_id=patient.pk,
                 data={"via": via})


def patients_listed(*, actor, query: str, count: int, via: str) -> None:
    """Record a patient search or list (the query is kept, cut to 100 characters, with the number of matches)."""
    audit_record(actor=actor, action=AuditAction.PATIENTS_LISTED, data={"query": query[:100], "count": count,
                                                                          "via": via})
