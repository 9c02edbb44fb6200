"""Where a patient's intake stands, step by step (for the wizard's step list and the chart card)."""

from __future__ import annotations

from dataclasses import dataclass

from ketacare.core.models import field_label
from ketacare.screening import selectors
from ketacare.screening.domain.snapshot import facts_digest
from ketacare.screening.models import Intake

DONE, STARTED, TODO = "done", "started", "todo"
STATE_LABELS = {DONE: "Done", STARTED: "In progress", TODO: "Not started"}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    url_name: str


STEPS: tuple[Step, ...] = (
    Step("referral", "Referral", "screening:step-referral"),
    Step("diagnoses", "Diagnoses", "screening:step-diagnoses"),
    Step("history", "History and allergies", "screening:step-history"),
    Step("medications", "Current medications", "screening:step-medications"),
    Step("trials", "Prior treatment trials", "screening:step-trials"),
    Step("measurements", "Height, weight and vitals", "screening:step-measurements"),
    Step("questionnaires", "Baseline questionnaires", "screening:step-questionnaires"),
    Step("review", "Review and evaluate", "screening:step-review"),
    Step("decision", "Prescriber decision", "screening:step-decision"),
    Step("consent", "Consent", "screening:step-consent"),
)
STEP_KEYS = tuple(step.key for step in STEPS)

# Which step records each domain fact (to link a missing fact to the place it is entered).
FACT_STEP = {
    "weight_kg": "measurements", "height_cm": "measurements", "systolic_mmhg": "measurements",
    "diastolic_mmhg": "measurements", "heart_rate_bpm": "measurements", "diagnoses": "diagnoses",
    "diagnosis_onsets": "diagnoses", "prior_trials": "trials", "cssrs_risk": "questionnaires",
    "phq9_total": "questionnaires",
    "phq9_item9": "questionnaires", "bprs_positive_max_item": "questionnaires",
    "benzodiazepine_lorazepam_eq_mg_per_day": "medications",
    **{name: "medications" for name in ("takes_benzodiazepine", "takes_stimulant", "takes_maoi",
                                        "takes_lamotrigine", "takes_opioid", "takes_other_sedative",
                                        "takes_oral_antidepressant")},
    **{name: "history" for name in selectors.BOOL_FACT_FIELDS},
}
FACT_LABELS = {
    "date_of_birth": "date of birth (patient details)", "weight_kg": "weight", "height_cm": "height",
    "systolic_mmhg": "systolic blood pressure", "diastolic_mmhg": "diastolic blood pressure",
    "heart_rate_bpm": "heart rate", "diagnoses": "diagnosis list (mark it complete)",
    "diagnosis_onsets": "event date of each heart attack, stroke/TIA, unstable angina, acute heart failure or "
                        "significant arrhythmia diagnosis",
    "prior_trials": "prior treatment trials (mark the list complete; adequacy, response and episode of each)",
    "cssrs_risk": "C-SSRS screener", "phq9_total": "PHQ-9 total", "phq9_item9": "PHQ-9 item 9",
    "bprs_positive_max_item": "BPRS+", "benzodiazepine_lorazepam_eq_mg_per_day":
        "benzodiazepine dose as lorazepam equivalent",
    **{name: "medication list (mark it complete)" for name in ("takes_benzodiazepine", "takes_stimulant",
                                                                "takes_maoi", "takes_lamotrigine", "takes_opioid",
                                                                "takes_other_sedative", "takes_oral_antidepressant")},
}


def fact_label(name: str) -> str:
    if name in FACT_LABELS:
        return FACT_LABELS[name]
    if name in selectors.BOOL_FACT_FIELDS:
        return field_label(Intake, name).lower()
    return name.replace("_", " ")


def missing_with_steps(missing: list[str]) -> list[dict]:
    """Missing facts, de-duplicated by label, each with the step where it is recorded."""
    seen: dict[str, dict] = {}
    for name in missing:
        label = fact_label(name)
        seen.setdefault(label, {"name": name, "label": label, "step": FACT_STEP.get(name)})
    return list(seen.values())


@dataclass
class Progress:
    states: dict[str, str]
    facts_digest: str
    latest: dict
    current: dict  # route -> current consent

    @property
    def done_count(self) -> int:
        return sum(1 for state in self.states.values() if state == DONE)

    def first_open_step(self) -> str:
        return next((key for key in STEP_KEYS if self.states[key] != DONE), STEP_KEYS[-1])


def _any(*values) -> bool:
    return any(v not in (None, "") for v in values)


def intake_progress(patient, intake: Intake | None, questionnaires: selectors.BaselineQuestionnaires) -> Progress:
    facts = selectors.intake_facts(patient, intake, questionnaires)
    digest = facts_digest(facts)
    latest = selectors.latest_decisions(patient)
    current = {route: selectors.current_consent(patient, route) for route in selectors.RouteChoice.values}
    states = dict.fromkeys(STEP_KEYS, TODO)
    if intake is not None:
        i = intake
        referral = (i.referring_clinician, i.referral_reason, i.referral_received_on)
        states["referral"] = DONE if all(referral) else (STARTED if _any(*referral, i.referring_organization)
                                                         else TODO)
        states["diagnoses"] = _list_state(i.diagnoses_complete, i.diagnoses.exists())
        history = [getattr(i, name) for name in selectors.BOOL_FACT_FIELDS]
        states["history"] = DONE if None not in history else (STARTED if _any(*history) else TODO)
        states["medications"] = _list_state(i.medications_complete, i.medications.exists())
        states["trials"] = _list_state(i.trials_complete, i.trials.exists())
        measured = (i.weight_kg, i.height_cm, i.systolic_mmhg, i.diastolic_mmhg, i.heart_rate_bpm)
        states["measurements"] = DONE if None not in measured else (STARTED if _any(*measured) else TODO)
    asked = (questionnaires.cssrs_risk, questionnaires.phq9_item9)
    states["questionnaires"] = DONE if None not in asked else (STARTED if _any(*asked) else TODO)
    routes = selectors.RouteChoice.values
    if latest:
        params = selectors.eligibility_params(patient.clinic_id)
        fresh = all(route in latest and selectors.decision_is_current(latest[route], digest=digest, params=params)
                    for route in routes)
        states["review"] = DONE if fresh else STARTED
        signed = [latest[r].is_signed for r in routes if r in latest]
        states["decision"] = DONE if len(signed) == len(routes) and all(signed) else (
            STARTED if any(signed) else TODO)
    approved = [r for r in routes if r in latest and latest[r].is_effective_approval]
    if approved and all(current[r] is not None for r in approved):
        states["consent"] = DONE
    elif any(current.values()):
        states["consent"] = STARTED
    return Progress(states=states, facts_digest=digest, latest=latest, current=current)


def _list_state(complete: bool, has_rows: bool) -> str:
    return DONE if complete else (STARTED if has_rows else TODO)
