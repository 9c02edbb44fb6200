"""Writing intake, eligibility decisions and consent. Each service validates fully (domain rules included),
writes its audit row in the same transaction, and stores nothing when any field is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import Conflict, NotFound
from ketacare.core.revisions import revise
from ketacare.screening import selectors
from ketacare.screening.domain import icd10
from ketacare.screening.domain.facts import FactError, IntakeFacts, InvalidFacts, validate_facts
from ketacare.screening.domain.rules import RULESET_VERSION, EligibilityParams, ParamsInvalid, evaluate
from ketacare.screening.domain.snapshot import facts_digest, facts_to_dict, params_to_dict, result_to_dict
from ketacare.screening.domain.units import height_to_cm, weight_to_kg
from ketacare.screening.models import (
    ConsentDocument,
    Diagnosis,
    EligibilityDecision,
    EligibilitySetting,
    Intake,
    Medication,
    Outcome,
    PatientConsent,
    PriorTrial,
    StatusChoice,
)

# --- errors -------------------------------------------------------------------------------------------------------


class DecisionLocked(Conflict):
    """This eligibility decision is signed and can no longer change."""

    code = "decision_locked"


class DecisionSuperseded(Conflict):
    """A newer evaluation exists for this route: decide on that one."""

    code = "decision_superseded"


class IntakeChanged(Conflict):
    """The intake, rules or clinic thresholds changed after this evaluation: evaluate again before signing."""

    code = "intake_changed"


class NotAwaitingCosign(Conflict):
    """Only a signed override of an exclusion awaits a co-signature."""

    code = "not_awaiting_cosign"


class DocumentPublished(Conflict):
    """A published consent document never changes: write a new version."""

    code = "document_published"


class ConsentAlreadyWithdrawn(Conflict):
    """This consent was already withdrawn."""

    code = "consent_withdrawn"


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
            message = message.replace(name, f'"{Intake._meta.get_field(name).verbose_name}"')
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
    diagnosis_rows = []
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


# --- evaluation and decisions -------------------------------------------------------------------------------------


def current_facts(patient) -> tuple[IntakeFacts, selectors.BaselineQuestionnaires]:
    """The facts the rules would see now: the stored intake plus the newest baseline questionnaires."""
    questionnaires = selectors.baseline_questionnaires(patient)
    return selectors.intake_facts(patient, selectors.intake_of(patient), questionnaires), questionnaires


@transaction.atomic
def eligibility_evaluate(*, actor, patient, routes: list[str] | None = None) -> list[EligibilityDecision]:
    """Evaluate the current facts for each route and record the result (unsigned) after the previous evaluation.

    An unsigned evaluation of identical facts under the same rules on the same day is reused, not repeated.
    """
    facts, questionnaires = current_facts(patient)
    today = clock.today()
    params = selectors.eligibility_params(patient.clinic_id)
    digest = facts_digest(facts)
    decisions = []
    for route in routes or [r.value for r in selectors.Route]:
        route = selectors.route_of(route)
        try:
            result = evaluate(facts, route, params, today)
        except InvalidFacts as exc:
            raise _fact_errors_to_validation(exc.errors) from None
        previous = (EligibilityDecision.objects.select_for_update()
                    .filter(patient=patient, route=route).order_by("-evaluated_at", "-id").first())
        if (previous is not None and previous.signed_at is None and previous.evaluated_on == today
                and selectors.decision_is_current(previous, digest=digest, params=params)):
            decisions.append(previous)
            continue
        snapshot = result_to_dict(result)
        decision = EligibilityDecision(
            clinic_id=patient.clinic_id, patient=patient, route=route, previous=previous,
            evaluated_at=clock.now(), evaluated_on=today, evaluated_by=actor,
            ruleset_version=result.ruleset_version, status=result.status.value,
            findings=snapshot["findings"], missing_facts=snapshot["missing_facts"],
            resistance=snapshot["resistance"], facts=facts_to_dict(facts), facts_digest=digest,
            params=params_to_dict(params), sources=questionnaires.sources)
        decision.full_clean(exclude=["previous"], validate_constraints=False)
        decision.save()
        audit_record(actor=actor, action=AuditAction.ELIGIBILITY_EVALUATED, target=decision, patient_id=patient.pk,
                     data={"route": str(route), "status": decision.status, "ruleset_version": RULESET_VERSION})
        decisions.append(decision)
    return decisions


MIN_JUSTIFICATION = 10


def _require_prescriber(actor) -> None:
    require(actor, Perm.PRESCRIBE, "Only a prescriber can sign eligibility decisions.")


@transaction.atomic
def decision_sign(*, actor, decision: EligibilityDecision, outcome: str,
                  justification: str = "") -> EligibilityDecision:
    """The prescriber's decision on an evaluation: approve (cautions need a written justification), decline
    (with a reason), or override an exclusion (with a reason; takes effect only after a second prescriber
    co-signs). The evaluation must be the newest for its route and its facts still current."""
    _require_prescriber(actor)
    decision = EligibilityDecision.objects.select_for_update().select_related("patient").get(pk=decision.pk)
    if decision.signed_at is not None:
        raise DecisionLocked()
    newest = (EligibilityDecision.objects.filter(patient_id=decision.patient_id, route=decision.route)
              .order_by("-evaluated_at", "-id").values_list("pk", flat=True).first())
    if newest != decision.pk:
        raise DecisionSuperseded()
    facts, _ = current_facts(decision.patient)
    if not selectors.decision_is_current(decision, digest=facts_digest(facts),
                                         params=selectors.eligibility_params(decision.clinic_id)):
        raise IntakeChanged()
    justification = (justification or "").strip()
    errors = _sign_errors(decision, outcome, justification)
    if errors:
        raise ValidationError(errors)
    decision.outcome = outcome
    decision.justification = justification
    decision.signed_by = actor
    decision.signed_at = clock.now()
    decision.full_clean(exclude=["previous"], validate_constraints=False)
    decision.save()
    audit_record(actor=actor, action=AuditAction.ELIGIBILITY_SIGNED, target=decision, patient_id=decision.patient_id,
                 data={"route": decision.route, "outcome": outcome, "status": decision.status})
    return decision


def _sign_errors(decision: EligibilityDecision, outcome: str, justification: str) -> dict[str, list[str]]:
    status = decision.status
    short = len(justification) < MIN_JUSTIFICATION
    if outcome not in Outcome.values:
        return {"outcome": ["Choose approve, decline or override."]}
    if outcome == Outcome.APPROVE:
        if status == StatusChoice.NOT_ELIGIBLE:
            return {"outcome": ["An exclusion applies: approval is not possible. Decline, or override the "
                                "exclusion with a reason and a second prescriber's co-signature."]}
        if status == StatusChoice.INCOMPLETE:
            return {"outcome": ["The assessment is incomplete (missing: " + ", ".join(decision.missing_facts)
                                + "). Complete the intake and evaluate again."]}
        if status == StatusChoice.ELIGIBLE_WITH_CAUTIONS and short:
            return {"justification": [f"Cautions apply: write a justification (at least {MIN_JUSTIFICATION} "
                                      "characters) for each of them."]}
    if outcome == Outcome.DECLINE and short:
        return {"justification": [f"Write the reason for declining (at least {MIN_JUSTIFICATION} characters)."]}
    if outcome == Outcome.OVERRIDE:
        if status != StatusChoice.NOT_ELIGIBLE:
            return {"outcome": ["Override is only for an exclusion; nothing here is excluded."]}
        if decision.missing_facts:
            return {"outcome": ["Record the missing facts first (" + ", ".join(decision.missing_facts)
                                + "), then evaluate again."]}
        if short:
            return {"justification": [f"Write the reason for overriding the exclusion (at least "
                                      f"{MIN_JUSTIFICATION} characters)."]}
    return {}


@transaction.atomic
def decision_cosign(*, actor, decision: EligibilityDecision) -> EligibilityDecision:
    """A second, different prescriber co-signs an override, which then takes effect."""
    _require_prescriber(actor)
    decision = EligibilityDecision.objects.select_for_update().get(pk=decision.pk)
    if not decision.awaiting_cosign or decision.signed_at is None:
        raise NotAwaitingCosign()
    if decision.signed_by_id == actor.pk:
        raise ValidationError({"cosigned_by": ["A second, different prescriber must co-sign the override."]})
    decision.cosigned_by = actor
    decision.cosigned_at = clock.now()
    decision.save()
    audit_record(actor=actor, action=AuditAction.ELIGIBILITY_COSIGNED, target=decision,
                 patient_id=decision.patient_id, data={"route": decision.route, "signed_by": decision.signed_by_id})
    return decision


# --- clinic thresholds --------------------------------------------------------------------------------------------


@transaction.atomic
def eligibility_params_configure(*, actor, reason: str, **values: Any) -> EligibilitySetting:
    """A new revision of the clinic's screening thresholds (clinic admin). Values are checked against the bounds
    the sources allow (`domain.rules.PARAM_SPECS`); only those that differ from the cited defaults are stored.
    Audited as a protocol change: the thresholds are the clinic's screening protocol."""
    require(actor, Perm.CLINIC_CONFIGURE)
    try:
        params = EligibilityParams().with_overrides(values)
    except ParamsInvalid as exc:
        raise ValidationError({name: [message] for name, message in exc.errors.items()}) from None
    setting = revise(EligibilitySetting, actor=actor, reason=reason, overrides=params.overrides(),
                     reason_prompt="Say why the thresholds change (e.g. medical director decision of …).")
    audit_record(actor=actor, action=AuditAction.PROTOCOL_CONFIGURED, target=setting,
                 data={"eligibility_params": setting.overrides, "revision": setting.revision})
    return setting


# --- consent ------------------------------------------------------------------------------------------------------

DOCUMENT_FIELDS = ("route", "version", "title", "body", "effective_on")


def _check_version_free(document: ConsentDocument) -> None:
    taken = ConsentDocument.objects.filter(clinic_id=document.clinic_id, route=document.route,
                                           version=document.version).exclude(pk=document.pk)
    if taken.exists():
        raise ValidationError({"version": "This route already has a consent document with this version."})


@transaction.atomic
def consent_document_create(*, actor, **fields: Any) -> ConsentDocument:
    """A new draft version of a route's consent text (clinic admin)."""
    require(actor, Perm.CLINIC_CONFIGURE)
    now = clock.now()
    document = ConsentDocument(clinic_id=actor.clinic_id, created_by=actor, created_at=now, updated_at=now,
                               **_strip(_only(fields, DOCUMENT_FIELDS)))
    document.full_clean(validate_constraints=False)
    _check_version_free(document)
    document.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_DOCUMENT_SAVED, target=document,
                 data={"route": document.route, "version": document.version, "created": True})
    return document


@transaction.atomic
def consent_document_update(*, actor, document: ConsentDocument, **fields: Any) -> ConsentDocument:
    """Change a draft; a published version is refused."""
    require(actor, Perm.CLINIC_CONFIGURE)
    document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
    if document.published_at is not None:
        raise DocumentPublished()
    for name, value in _strip(_only(fields, DOCUMENT_FIELDS)).items():
        setattr(document, name, value)
    document.updated_at = clock.now()
    document.full_clean(validate_constraints=False)
    _check_version_free(document)
    document.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_DOCUMENT_SAVED, target=document,
                 data={"route": document.route, "version": document.version, "fields": sorted(fields)})
    return document


@transaction.atomic
def consent_document_publish(*, actor, document: ConsentDocument) -> ConsentDocument:
    """Publish a draft: from now on it never changes and consents can be captured on it."""
    require(actor, Perm.CLINIC_CONFIGURE)
    document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
    if document.published_at is not None:
        raise DocumentPublished("This version is already published.")
    document.published_at = clock.now()
    document.published_by = actor
    document.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_DOCUMENT_PUBLISHED, target=document,
                 data={"route": document.route, "version": document.version})
    return document


def _name_key(text: str) -> str:
    return " ".join(text.replace(",", " ").split()).casefold()


@transaction.atomic
def consent_record(*, actor, patient, route: str, typed_name: str, witness,
                   document: ConsentDocument | None = None) -> PatientConsent:
    """Capture the patient's consent to a route on the current published document, witnessed by staff."""
    route = selectors.route_of(route)
    label = selectors.route_label(route)
    errors: dict[str, list[str]] = {}
    if document is None:
        document = selectors.current_consent_document(patient.clinic, route)
    if document is None or not document.is_published or document.clinic_id != patient.clinic_id \
            or document.route != route:
        errors["route"] = [f"There is no published consent document for {label}; ask the clinic admin to "
                           "publish one."]
    typed = " ".join((typed_name or "").split())
    if not typed:
        errors["typed_name"] = ["The patient types their full name to consent."]
    elif _name_key(typed) not in {_name_key(f"{patient.given_name} {patient.family_name}"),
                                  _name_key(f"{patient.family_name} {patient.given_name}")}:
        errors["typed_name"] = ["The typed name does not match the patient's name on the chart."]
    if witness is None or witness.clinic_id != patient.clinic_id or not witness.is_active \
            or not witness.has_perm_to(Perm.CLINICAL_RECORD):
        errors["witness"] = ["Choose a clinical staff member of this clinic as witness."]
    if errors:
        raise ValidationError(errors)
    if PatientConsent.objects.filter(patient=patient, document=document, withdrawn_at__isnull=True).exists():
        raise Conflict(f"The patient already has a current consent to {label} on this version.")
    consent = PatientConsent(clinic_id=patient.clinic_id, patient=patient, document=document, route=route,
                             typed_name=typed, signed_at=clock.now(), witness=witness, recorded_by=actor)
    consent.full_clean(validate_constraints=False)
    consent.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_RECORDED, target=consent, patient_id=patient.pk,
                 data={"route": str(route), "document_version": document.version, "witness": witness.pk})
    return consent


@transaction.atomic
def consent_withdraw(*, actor, consent: PatientConsent, reason: str) -> PatientConsent:
    """Record that the patient withdrew consent: no new session of the route may start."""
    consent = PatientConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise ConsentAlreadyWithdrawn()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"withdrawal_reason": ["Record how and why the patient withdrew consent."]})
    consent.withdrawn_at = clock.now()
    consent.withdrawal_reason = reason
    consent.withdrawal_recorded_by = actor
    consent.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_WITHDRAWN, target=consent, patient_id=consent.patient_id,
                 data={"route": consent.route})
    return consent
