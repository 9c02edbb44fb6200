"""Eligibility API: stateless evaluation, intake read/write, decisions and consents."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from ninja import Router, Status

from ketacare.accounts.api_auth import api_perm
from ketacare.accounts.models import User
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed
from ketacare.screening import progress, selectors, services
from ketacare.screening.domain import icd10
from ketacare.screening.domain.facts import FactError, IntakeFacts, InvalidFacts
from ketacare.screening.domain.resistance import TreatmentTrial
from ketacare.screening.domain.rules import RULESET_VERSION, evaluate
from ketacare.screening.domain.snapshot import facts_to_dict, resistance_to_dict, result_to_dict
from ketacare.screening.domain.units import height_to_cm, weight_to_kg
from ketacare.screening.models import EligibilityDecision, PatientConsent
from ketacare.screening.schemas import (
    ConsentIn,
    ConsentOut,
    DecisionIn,
    DecisionOut,
    EvaluateIn,
    EvaluateOut,
    IntakeIn,
    IntakeOut,
    WithdrawIn,
)

router = Router(tags=["screening"])


def _refuse(errors: list[tuple[str, str]]) -> ValidationError:
    messages: dict[str, list[str]] = {}
    for field, message in errors:
        messages.setdefault(field, []).append(message)
    return ValidationError(messages)


@router.post("/eligibility/evaluate", response=EvaluateOut, auth=api_perm(Perm.CLINICAL_VIEW, reads=True))
def eligibility_evaluate(request, payload: EvaluateIn):
    """Facts in, findings and result out, with the same rules as the chart. Nothing is stored."""
    data = payload.facts.model_dump(exclude={"weight", "height", "prior_trials", "diagnoses", "diagnosis_onsets"})
    errors: list[tuple[str, str]] = []
    facts_in = payload.facts
    for name, quantity, convert in (("weight", facts_in.weight, weight_to_kg),
                                    ("height", facts_in.height, height_to_cm)):
        si = "weight_kg" if name == "weight" else "height_cm"
        data[si] = None
        if quantity is not None:
            try:
                data[si] = convert(quantity.value, quantity.unit, field=f"facts.{name}")
            except FactError as error:
                errors.append((f"facts.{name}", error.message))
    if facts_in.diagnoses is not None:
        codes = []
        for n, code in enumerate(facts_in.diagnoses):
            try:
                codes.append(icd10.lookup(code).code)
            except FactError as error:
                errors.append((f"facts.diagnoses[{n}]", error.message))
        data["diagnoses"] = tuple(codes)
    if facts_in.diagnosis_onsets is not None:
        onsets = []
        for code, on in facts_in.diagnosis_onsets.items():
            try:
                onsets.append((icd10.lookup(code).code, on))
            except FactError as error:
                errors.append(("facts.diagnosis_onsets", error.message))
        data["diagnosis_onsets"] = tuple(sorted(onsets))
    if facts_in.prior_trials is not None:
        data["prior_trials"] = tuple(TreatmentTrial(**t.model_dump()) for t in facts_in.prior_trials)
    if errors:
        raise _refuse(errors)
    facts = IntakeFacts(**data)
    on = payload.on or clock.today()
    params = selectors.eligibility_params(request.auth.clinic_id)
    try:
        results = [result_to_dict(evaluate(facts, route, params, on)) for route in dict.fromkeys(payload.routes)]
    except InvalidFacts as exc:
        raise _refuse([(f"facts.{e.field}", e.message) for e in exc.errors]) from None
    return {"ruleset_version": RULESET_VERSION, "on": on, "facts": facts_to_dict(facts), "results": results}


# --- intake -------------------------------------------------------------------------------------------------------


def _intake_out(patient) -> dict[str, Any]:
    intake = selectors.intake_of(patient)
    questionnaires = selectors.baseline_questionnaires(patient)
    state = progress.intake_progress(patient, intake, questionnaires)
    out: dict[str, Any] = {"patient_id": patient.pk, "steps": state.states}
    names = [*services.REFERRAL_FIELDS, *services.HISTORY_FIELDS, "measured_on", "systolic_mmhg", "diastolic_mmhg",
             "heart_rate_bpm", "spo2_pct", "vitals_taken_at"]
    if intake is None:
        out.update(weight=None, height=None, weight_kg=None, height_cm=None, diagnoses=None, medications=None,
                   trials=None, resistance=None, updated_at=None)
        for name in names:
            out[name] = "" if name in services.TEXT_FIELDS else None
        return out
    for name in names:
        out[name] = getattr(intake, name)
    out["weight"] = ({"value": intake.weight_entered, "unit": intake.weight_unit}
                     if intake.weight_entered is not None else None)
    out["height"] = ({"value": intake.height_entered, "unit": intake.height_unit}
                     if intake.height_entered is not None else None)
    out["weight_kg"] = selectors._normal(intake.weight_kg)
    out["height_cm"] = selectors._normal(intake.height_cm)
    out["diagnoses"] = ([{"code": d.code, "title": selectors.diagnosis_title(d.code), "note": d.note,
                          "onset_on": d.onset_on}
                         for d in intake.diagnoses.all()] if intake.diagnoses_complete else None)
    out["medications"] = ([{name: getattr(m, name) for name in services.MEDICATION_FIELDS}
                           for m in intake.medications.all()] if intake.medications_complete else None)
    out["trials"] = ([{name: (getattr(t, name) or None) if name == "response" else getattr(t, name)
                       for name in services.TRIAL_FIELDS} for t in intake.trials.all()]
                     if intake.trials_complete else None)
    out["resistance"] = resistance_to_dict(selectors.resistance_summary(intake))
    out["updated_at"] = intake.updated_at
    return out


@router.get("/patients/{patient_id}/intake", response=IntakeOut, auth=api_perm(Perm.CLINICAL_VIEW))
def intake_get(request, patient_id: int):
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    patient_viewed(actor=request.auth, patient=patient, via="api:intake")
    return _intake_out(patient)


INPUT_TO_API = {"weight_entered": "weight", "weight_unit": "weight", "height_entered": "height",
                "height_unit": "height"}


@router.put("/patients/{patient_id}/intake", response=IntakeOut, auth=api_perm(Perm.CLINICAL_RECORD))
def intake_put(request, patient_id: int, payload: IntakeIn):
    """Replace the whole intake. Refused input: 422 with the field of each message; nothing is stored."""
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    data = payload.model_dump(exclude={"weight", "height", "diagnoses", "medications", "trials"})
    for name in ("weight", "height"):
        quantity = getattr(payload, name)
        data[f"{name}_entered"] = quantity.value if quantity is not None else None
        data[f"{name}_unit"] = quantity.unit if quantity is not None else ""
    trials = None
    if payload.trials is not None:
        trials = [{**t.model_dump(), "response": t.response.value if t.response else ""} for t in payload.trials]
    try:
        services.intake_replace(
            actor=request.auth, patient=patient, **data,
            diagnoses=None if payload.diagnoses is None else [d.model_dump() for d in payload.diagnoses],
            medications=None if payload.medications is None else [m.model_dump() for m in payload.medications],
            trials=trials)
    except ValidationError as exc:
        renamed: dict[str, list[str]] = {}
        for field, messages in exc.message_dict.items():
            renamed.setdefault(INPUT_TO_API.get(field, field), []).extend(messages)
        raise ValidationError(renamed) from None
    return _intake_out(patient)


# --- decisions ----------------------------------------------------------------------------------------------------


def _name(user) -> str | None:
    return None if user is None else (user.get_full_name() or user.get_username())


def _decision_out(d: EligibilityDecision) -> dict[str, Any]:
    return {
        "id": d.pk, "patient_id": d.patient_id, "route": d.route, "previous_id": d.previous_id,
        "evaluated_at": d.evaluated_at, "evaluated_by": _name(d.evaluated_by), "ruleset_version": d.ruleset_version,
        "status": d.status, "findings": d.findings, "missing_facts": d.missing_facts, "resistance": d.resistance,
        "facts": d.facts, "outcome": d.outcome, "justification": d.justification, "signed_by": _name(d.signed_by),
        "signed_at": d.signed_at, "cosigned_by": _name(d.cosigned_by), "cosigned_at": d.cosigned_at,
        "in_effect": d.is_effective_approval,
    }


@router.get("/patients/{patient_id}/eligibility-decisions", response=list[DecisionOut],
            auth=api_perm(Perm.CLINICAL_VIEW))
def decisions_list(request, patient_id: int):
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    patient_viewed(actor=request.auth, patient=patient, via="api:eligibility-decisions")
    return [_decision_out(d) for d in selectors.decisions_for(patient)]


@router.post("/patients/{patient_id}/eligibility-decisions", response={201: DecisionOut},
             auth=api_perm(Perm.PRESCRIBE))
def decisions_create(request, patient_id: int, payload: DecisionIn):
    """Evaluate the route on the current intake and sign the decision as the calling prescriber, in one step.
    A refused decision (e.g. approving an exclusion) stores nothing."""
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    required = [(name, "This field is required.") for name in ("route", "outcome") if getattr(payload, name) is None]
    if required or payload.route is None or payload.outcome is None:
        raise _refuse(required)
    with transaction.atomic():
        (decision,) = services.eligibility_evaluate(actor=request.auth, patient=patient, routes=[payload.route])
        decision = services.decision_sign(actor=request.auth, decision=decision, outcome=payload.outcome,
                                          justification=payload.justification)
    return Status(201, _decision_out(decision))


@router.post("/patients/{patient_id}/eligibility-decisions/{decision_id}/cosign", response=DecisionOut,
             auth=api_perm(Perm.PRESCRIBE))
def decisions_cosign(request, patient_id: int, decision_id: int):
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    decision = selectors.decision_get_for(user=request.auth, decision_id=decision_id, patient_id=patient.pk)
    return _decision_out(services.decision_cosign(actor=request.auth, decision=decision))


# --- consents -----------------------------------------------------------------------------------------------------


def _consent_out(c: PatientConsent, current_ids: set[int]) -> dict[str, Any]:
    return {
        "id": c.pk, "patient_id": c.patient_id, "route": c.route, "document_id": c.document_id,
        "document_version": c.document.version, "typed_name": c.typed_name, "signed_at": c.signed_at,
        "witness": _name(c.witness), "recorded_by": _name(c.recorded_by), "withdrawn_at": c.withdrawn_at,
        "withdrawal_reason": c.withdrawal_reason, "current": c.pk in current_ids,
    }


def _current_ids(patient) -> set[int]:
    return {c.pk for route in selectors.RouteChoice.values if (c := selectors.current_consent(patient, route))}


@router.get("/patients/{patient_id}/consents", response=list[ConsentOut], auth=api_perm(Perm.CLINICAL_VIEW))
def consents_list(request, patient_id: int):
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    patient_viewed(actor=request.auth, patient=patient, via="api:consents")
    current = _current_ids(patient)
    return [_consent_out(c, current) for c in selectors.consents_for(patient)]


@router.post("/patients/{patient_id}/consents", response={201: ConsentOut}, auth=api_perm(Perm.CLINICAL_RECORD))
def consents_create(request, patient_id: int, payload: ConsentIn):
    """Capture consent on the route's current published document, witnessed by a clinical staff member."""
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    if payload.route is None:
        raise _refuse([("route", "This field is required.")])
    witness = (User.objects.filter(pk=payload.witness_id, clinic_id=patient.clinic_id).first()
               if payload.witness_id is not None else None)
    consent = services.consent_record(actor=request.auth, patient=patient, route=payload.route,
                                      typed_name=payload.typed_name, witness=witness)
    return Status(201, _consent_out(consent, _current_ids(patient)))


@router.post("/consents/{consent_id}/withdraw", response=ConsentOut, auth=api_perm(Perm.CLINICAL_RECORD))
def consents_withdraw(request, consent_id: int, payload: WithdrawIn):
    consent = selectors.consent_get_for(user=request.auth, consent_id=consent_id)
    try:
        consent = services.consent_withdraw(actor=request.auth, consent=consent, reason=payload.reason)
    except ValidationError:
        raise ValidationError({"reason": ["Record how and why the patient withdrew consent."]}) from None
    return _consent_out(consent, _current_ids(consent.patient))
