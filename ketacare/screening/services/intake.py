"""Writing the intake: fields, the diagnosis / medication / trial lists, and the whole intake (API PUT).
Every write validates the whole intake with the domain rules and stores nothing when a field is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock, plausible
from ketacare.core.errors import NotFound
from ketacare.core.models import field_label
from ketacare.screening import selectors
from ketacare.screening.domain import icd10
from ketacare.screening.domain.facts import FactError, validate_facts
from ketacare.screening.domain.units import height_to_cm, weight_to_kg
from ketacare.screening.models import (
    Diagnosis,
    Intake,
    Medication,
    PriorTrial,
)

# --- intake -------------------------------------------------------------------------------------------------------

REFERRAL_FIELDS = ("referring_clinician", "referring_organization", "referral_reason", "referral_received_on")
HISTORY_FIELDS = (*selectors.BOOL_FACT_FIELDS, "psychiatric_notes", "medical_notes", "allergies")
MEASUREMENT_FIELDS = ("weight_entered", "weight_unit", "height_entered", "height_unit", "measured_on",
                      "systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "vitals_taken_at")
LIST_FLAGS = ("diagnoses_complete", "medications_complete", "trials_complete")
EDITABLE_FIELDS = (*REFERRAL_FIELDS, *HISTORY_FIELDS, *MEASUREMENT_FIELDS, *LIST_FLAGS)

# Where a refused domain fact is shown on the forms and in the API.
FACT_FIELD_TO_INPUT = {
    "weight_kg": "weight_entered",
    "height_cm": "height_entered",
    "benzodiazepine_lorazepam_eq_mg_per_day": "lorazepam_eq_mg_per_day",
    "date_of_birth": "date_of_birth",
}
TEXT_FIELDS = ("referring_clinician", "referring_organization", "referral_reason", "psychiatric_notes",
               "medical_notes", "allergies")


def _intake_for_update(*, actor, patient) -> Intake:
    """The patient's intake, locked; a new (unsaved) one when none exists yet."""
    intake = Intake.objects.select_for_update().filter(patient=patient).first()
    if intake is None:
        now = clock.now()
        intake = Intake(clinic_id=patient.clinic_id, patient=patient, created_at=now, updated_at=now,
                        updated_by=actor)
    return intake


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _fact_errors_to_validation(errors: tuple[FactError, ...] | list[FactError]) -> ValidationError:
    messages: dict[str, list[str]] = {}
    for error in errors:
        field = error.field.split("[")[0]
        field = FACT_FIELD_TO_INPUT.get(field, field)
        if field == "prior_trials":
            field = "trials"
        messages.setdefault(field, []).append(_sentence(error.field, error.message))
    return ValidationError(messages)


def _humanize(message: str) -> str:
    """Domain messages name facts by their code names; forms speak the clinic's words."""
    for name in selectors.BOOL_FACT_FIELDS:
        if name in message:
            message = message.replace(name, f'"{field_label(Intake, name)}"')
    return message.replace(" as False", " as No").replace("is True", "is Yes")


def _sentence(field: str, message: str) -> str:
    if field in selectors.BOOL_FACT_FIELDS and message.startswith("is "):
        message = f"{field} {message}"
    message = _humanize(message)
    text = message[:1].upper() + message[1:]
    if "[" in field:
        text = f"{field.split('.')[-1].replace('_', ' ').capitalize()} ({field}): {message}"
    return text if text.endswith((".", "?")) else text + "."


def _check_facts(patient, intake: Intake, *, diagnoses=None, medications=None, trials=None) -> None:
    """Refuse the intake as it would be saved (lists may be given unsaved) with the domain's field errors."""
    pending = _PendingIntake(intake, diagnoses, medications, trials)
    facts = selectors.intake_facts(patient, pending)  # type: ignore[arg-type]
    if errors := validate_facts(facts, today=clock.today()):
        raise _fact_errors_to_validation(errors)


class _PendingIntake:
    """An intake whose lists may not be saved yet: quacks like Intake for `selectors.intake_facts`. Lists count
    as complete here, so that what is recorded is checked for consistency even before the list is finished."""

    diagnoses_complete = medications_complete = trials_complete = True

    def __init__(self, intake: Intake, diagnoses, medications, trials) -> None:
        self._intake = intake
        saved = intake.pk is not None
        self.diagnoses = _Rows(diagnoses if diagnoses is not None else
                               (list(intake.diagnoses.all()) if saved else []))
        self.medications = _Rows(medications if medications is not None else
                                 (list(intake.medications.all()) if saved else []))
        self.trials = _Rows(trials if trials is not None else (list(intake.trials.all()) if saved else []))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._intake, name)


class _Rows:
    def __init__(self, rows: list) -> None:
        self._rows = rows

    def all(self) -> list:
        return self._rows

    def exists(self) -> bool:
        return bool(self._rows)


def _convert_measurements(intake: Intake) -> dict[str, list[str]]:
    """Set the SI columns from the entered value and unit (exact conversion); field errors for bad input."""
    errors: dict[str, list[str]] = {}
    for entered, unit, si, convert in (("weight_entered", "weight_unit", "weight_kg", weight_to_kg),
                                       ("height_entered", "height_unit", "height_cm", height_to_cm)):
        value, unit_value = getattr(intake, entered), getattr(intake, unit)
        if value is None:
            setattr(intake, si, None)
            setattr(intake, unit, unit_value or "")
            continue
        if not unit_value:
            errors.setdefault(unit, []).append("Choose the unit.")
            continue
        try:
            setattr(intake, si, convert(value, unit_value, field=entered))
        except FactError as error:
            errors.setdefault(entered, []).append(_sentence(entered, error.message))
    return errors


def _save_intake(*, actor, patient, intake: Intake, before: dict[str, Any], data: dict[str, Any]) -> Intake:
    intake.updated_at = clock.now()
    intake.updated_by = actor
    intake.save()
    changed = {name: [before.get(name), _jsonable(getattr(intake, name))] for name in EDITABLE_FIELDS
               if before.get(name) != _jsonable(getattr(intake, name))}
    if changed or data:
        audit_record(actor=actor, action=AuditAction.INTAKE_UPDATED, target=intake, patient_id=patient.pk,
                     data={"changed": changed, **data})
    return intake


def _snapshot(intake: Intake) -> dict[str, Any]:
    if intake.pk is None:
        return {}
    return {name: _jsonable(getattr(intake, name)) for name in EDITABLE_FIELDS}


@transaction.atomic
def intake_update(*, actor, patient, **fields: Any) -> Intake:
    """Save part of the intake (one wizard step). Refused fields raise ValidationError and nothing is stored."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    intake = _intake_for_update(actor=actor, patient=patient)
    before = _snapshot(intake)
    for name, value in fields.items():
        setattr(intake, name, value.strip() if isinstance(value, str) and name in TEXT_FIELDS else value)
    _validate_intake(patient, intake)
    return _save_intake(actor=actor, patient=patient, intake=intake, before=before, data={})


def _validate_intake(patient, intake: Intake, **lists) -> None:
    errors = _convert_measurements(intake)
    try:
        intake.full_clean(exclude=["patient", "updated_by"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    when = {name: getattr(intake, name) for name in ("referral_received_on", "measured_on", "vitals_taken_at")}
    for field, message in plausible.event_problems(when, now=clock.now(), today=clock.today(),
                                                    born_on=patient.date_of_birth,
                                                    tz=timezone.get_current_timezone()).items():
        if message not in errors.get(field, []):
            errors.setdefault(field, []).append(message)
    if intake.diastolic_mmhg is not None and intake.systolic_mmhg is not None and intake.vitals_taken_at is None:
        errors.setdefault("vitals_taken_at", []).append("Record when the vitals were taken.")
    if (intake.weight_kg is not None or intake.height_cm is not None) and intake.measured_on is None:
        errors.setdefault("measured_on", []).append("Record when height and weight were measured.")
    if errors:
        raise ValidationError(errors)
    _check_facts(patient, intake, **lists)


def _audit_list_change(*, actor, patient, intake: Intake, data: dict[str, Any]) -> None:
    Intake.objects.filter(pk=intake.pk).update(updated_at=clock.now(), updated_by=actor)
    audit_record(actor=actor, action=AuditAction.INTAKE_UPDATED, target=intake, patient_id=patient.pk, data=data)


def _saved_intake(*, actor, patient) -> Intake:
    intake = _intake_for_update(actor=actor, patient=patient)
    if intake.pk is None:
        intake.save()
    return intake


def _normalized_code(code: str) -> str:
    try:
        return icd10.lookup(code, field="code").code
    except FactError as error:
        raise ValidationError({"code": _sentence("code", error.message)}) from None


@transaction.atomic
def diagnosis_add(*, actor, patient, code: str, note: str = "", onset_on=None) -> Diagnosis:
    """Add an ICD-10-CM diagnosis from the curated table; unknown codes and contradictions are refused."""
    code = _normalized_code(code or "")
    intake = _saved_intake(actor=actor, patient=patient)
    if intake.diagnoses.filter(code=code).exists():
        raise ValidationError({"code": f"{code} is already recorded."})
    diagnosis = Diagnosis(clinic_id=patient.clinic_id, intake=intake, code=code, note=(note or "").strip(),
                          onset_on=onset_on)
    diagnosis.full_clean(exclude=["intake"], validate_constraints=False)
    _check_facts(patient, intake, diagnoses=[*intake.diagnoses.all(), diagnosis])
    diagnosis.save()
    _audit_list_change(actor=actor, patient=patient, intake=intake, data={"diagnosis_added": code})
    return diagnosis


@transaction.atomic
def diagnosis_remove(*, actor, patient, diagnosis_id: int) -> None:
    intake = _saved_intake(actor=actor, patient=patient)
    diagnosis = _row(intake.diagnoses, diagnosis_id)
    diagnosis.delete()
    _audit_list_change(actor=actor, patient=patient, intake=intake, data={"diagnosis_removed": diagnosis.code})


MEDICATION_FIELDS = ("name", "dose", *Medication.FLAGS, "lorazepam_eq_mg_per_day")


@transaction.atomic
def medication_add(*, actor, patient, **fields: Any) -> Medication:
    """Add a current medication with its class flags."""
    intake = _saved_intake(actor=actor, patient=patient)
    medication = Medication(clinic_id=patient.clinic_id, intake=intake,
                            **_strip(_only(fields, MEDICATION_FIELDS)))
    errors = {}
    if medication.lorazepam_eq_mg_per_day is not None and not medication.is_benzodiazepine:
        errors["lorazepam_eq_mg_per_day"] = ["Only for a benzodiazepine: tick Benzodiazepine or clear this."]
    if medication.lorazepam_eq_mg_per_day is not None and medication.lorazepam_eq_mg_per_day < 0:
        errors["lorazepam_eq_mg_per_day"] = ["Must be 0 or more."]
    try:
        medication.full_clean(exclude=["intake"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    _check_facts(patient, intake, medications=[*intake.medications.all(), medication])
    medication.save()
    _audit_list_change(actor=actor, patient=patient, intake=intake,
                       data={"medication_added": medication.name, "flags": medication.flag_labels()})
    return medication


@transaction.atomic
def medication_remove(*, actor, patient, medication_id: int) -> None:
    intake = _saved_intake(actor=actor, patient=patient)
    medication = _row(intake.medications, medication_id)
    medication.delete()
    _audit_list_change(actor=actor, patient=patient, intake=intake, data={"medication_removed": medication.name})


TRIAL_FIELDS = ("name", "kind", "dose_mg_per_day", "duration_weeks", "adequate", "response", "current_episode")


@transaction.atomic
def trial_add(*, actor, patient, **fields: Any) -> PriorTrial:
    """Add a prior treatment trial (drug or therapy) with adequacy and response."""
    intake = _saved_intake(actor=actor, patient=patient)
    trial = PriorTrial(clinic_id=patient.clinic_id, intake=intake, **_strip(_only(fields, TRIAL_FIELDS)))
    errors = {}
    if trial.dose_mg_per_day is not None and trial.dose_mg_per_day < 0:
        errors["dose_mg_per_day"] = ["Must be 0 or more."]
    try:
        trial.full_clean(exclude=["intake"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    _check_facts(patient, intake, trials=[*intake.trials.all(), trial])
    trial.save()
    _audit_list_change(actor=actor, patient=patient, intake=intake, data={"trial_added": trial.name})
    return trial


@transaction.atomic
def trial_remove(*, actor, patient, trial_id: int) -> None:
    intake = _saved_intake(actor=actor, patient=patient)
    trial = _row(intake.trials, trial_id)
    trial.delete()
    _audit_list_change(actor=actor, patient=patient, intake=intake, data={"trial_removed": trial.name})


def _row(related, pk: int):
    try:
        return related.get(pk=pk)
    except related.model.DoesNotExist:
        raise NotFound("That row is not on this intake.") from None


def _only(fields: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    return fields


def _strip(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}


@transaction.atomic
def intake_replace(*, actor, patient, diagnoses: list[dict] | None, medications: list[dict] | None,
                   trials: list[dict] | None, **fields: Any) -> Intake:
    """Replace the whole intake (API PUT). A list given as None is "not yet recorded"; [] is "none"."""
    unknown = set(fields) - set(REFERRAL_FIELDS + HISTORY_FIELDS + MEASUREMENT_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    intake = _intake_for_update(actor=actor, patient=patient)
    before = _snapshot(intake)
    for name in REFERRAL_FIELDS + HISTORY_FIELDS + MEASUREMENT_FIELDS:
        value = fields.get(name)
        if name in TEXT_FIELDS or name in ("weight_unit", "height_unit"):
            value = (value or "").strip()
        setattr(intake, name, value)
    intake.diagnoses_complete = diagnoses is not None
    intake.medications_complete = medications is not None
    intake.trials_complete = trials is not None

    errors: dict[str, list[str]] = {}
    diagnosis_rows: list[Diagnosis] = []
    for n, item in enumerate(diagnoses or []):
        try:
            code = _normalized_code(item.get("code") or "")
        except ValidationError as exc:
            errors.setdefault(f"diagnoses[{n}].code", []).extend(exc.message_dict["code"])
            continue
        if code in {d.code for d in diagnosis_rows}:
            errors.setdefault(f"diagnoses[{n}].code", []).append(f"{code} is listed twice.")
        diagnosis_rows.append(Diagnosis(clinic_id=patient.clinic_id, code=code, note=(item.get("note") or "").strip(),
                                        onset_on=item.get("onset_on")))
    medication_rows = [Medication(clinic_id=patient.clinic_id, **_strip(_only(item, MEDICATION_FIELDS)))
                       for item in medications or []]
    trial_rows = [PriorTrial(clinic_id=patient.clinic_id, **_strip(_only(item, TRIAL_FIELDS)))
                  for item in trials or []]
    for prefix, rows in (("diagnoses", diagnosis_rows), ("medications", medication_rows), ("trials", trial_rows)):
        for n, row in enumerate(rows):
            try:
                row.full_clean(exclude=["intake"], validate_constraints=False)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors.setdefault(f"{prefix}[{n}].{field}", []).extend(messages)
    for n, row in enumerate(medication_rows):
        if row.lorazepam_eq_mg_per_day is not None and not row.is_benzodiazepine:
            errors.setdefault(f"medications[{n}].lorazepam_eq_mg_per_day", []).append(
                "Only for a benzodiazepine.")
    try:
        _validate_intake(patient, intake, diagnoses=diagnosis_rows, medications=medication_rows, trials=trial_rows)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)

    _save_intake(actor=actor, patient=patient, intake=intake, before=before,
                 data={"replaced": True, "diagnoses": [d.code for d in diagnosis_rows],
                       "medications": len(medication_rows), "trials": len(trial_rows)})
    intake.diagnoses.all().delete()
    intake.medications.all().delete()
    intake.trials.all().delete()
    for rows in (diagnosis_rows, medication_rows, trial_rows):
        for row in rows:
            row.intake = intake
            row.save()
    return intake
