"""API schemas of the screening app. Every field is listed explicitly."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field

from ketacare.core.schemas import Schema
from ketacare.screening.domain.facts import CssrsRisk
from ketacare.screening.domain.resistance import Response, TrialKind
from ketacare.screening.domain.rules import Route, Status, Verdict


class QuantityIn(Schema):
    value: Decimal
    unit: str = Field(description='Weight: "kg" or "lb"; height: "cm" or "in". Converted exactly to kg / cm.')


class PriorTrialIn(Schema):
    name: str
    kind: TrialKind
    dose_mg_per_day: Decimal | None = None
    duration_weeks: int | None = None
    adequate: bool | None = None
    response: Response | None = None
    current_episode: bool | None = None


class HistoryFacts(Schema):
    """The yes / no history facts of the intake (null = not asked yet, never "no"); `selectors.BOOL_FACT_FIELDS`."""

    psychosis_history: bool | None = None
    psychosis_current: bool | None = None
    mania_or_bipolar_history: bool | None = None
    mania_current: bool | None = None
    substance_use_disorder_history: bool | None = None
    substance_use_disorder_current: bool | None = None
    ketamine_misuse_history: bool | None = None
    prior_suicide_attempt: bool | None = None
    suicidal_intent_current: bool | None = None
    lacks_capacity_to_consent: bool | None = None
    hypertension: bool | None = None
    hypertension_uncontrolled: bool | None = None
    aneurysmal_vascular_disease: bool | None = None
    arteriovenous_malformation: bool | None = None
    intracerebral_hemorrhage_history: bool | None = None
    cardiovascular_disease: bool | None = None
    cerebrovascular_disease: bool | None = None
    raised_intracranial_pressure: bool | None = None
    hepatic_disease: bool | None = None
    interstitial_cystitis: bool | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    hypersensitivity_ketamine: bool | None = None


class FactsIn(HistoryFacts):
    """Intake facts for a stateless evaluation. Omitted or null = not recorded (never "absent")."""

    date_of_birth: dt.date | None = None
    weight: QuantityIn | None = None
    height: QuantityIn | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    diagnoses: list[str] | None = Field(None, description="ICD-10-CM codes; [] = assessed, none")
    diagnosis_onsets: dict[str, dt.date] | None = Field(None, description="Event date per recorded code")
    takes_benzodiazepine: bool | None = None
    benzodiazepine_lorazepam_eq_mg_per_day: Decimal | None = None
    takes_stimulant: bool | None = None
    takes_maoi: bool | None = None
    takes_lamotrigine: bool | None = None
    takes_opioid: bool | None = None
    takes_other_sedative: bool | None = None
    takes_oral_antidepressant: bool | None = None
    prior_trials: list[PriorTrialIn] | None = Field(None, description="[] = assessed, none")
    cssrs_risk: CssrsRisk | None = None
    phq9_total: int | None = None
    phq9_item9: int | None = None
    bprs_positive_max_item: int | None = None


class EvaluateIn(Schema):
    facts: FactsIn
    routes: list[Route] = Field(default_factory=lambda: list(Route))
    on: dt.date | None = Field(None, description="Evaluation date (ages); default today")


class FindingOut(Schema):
    rule_code: str
    verdict: Verdict
    message: str
    citation: str
    clears: str = Field("", description="What lifts a temporary stop (\"not eligible now\"); empty otherwise")


class RouteResultOut(Schema):
    route: Route
    status: Status
    ruleset_version: str
    findings: list[FindingOut]
    missing_facts: list[str]
    undecided_rules: list[str]
    resistance: dict[str, Any] | None


class EvaluateOut(Schema):
    ruleset_version: str
    on: dt.date
    facts: dict[str, Any] = Field(description="The facts as evaluated (SI units)")
    results: list[RouteResultOut]


class DiagnosisIn(Schema):
    code: str
    note: str = ""
    onset_on: dt.date | None = Field(None, description="Event date; needed for cardiovascular / cerebrovascular "
                                                       "event codes")


class DiagnosisOut(Schema):
    code: str
    title: str
    note: str
    onset_on: dt.date | None = None


class MedicationIn(Schema):
    name: str
    dose: str = ""
    is_benzodiazepine: bool = False
    lorazepam_eq_mg_per_day: Decimal | None = None
    is_stimulant: bool = False
    is_maoi: bool = False
    is_lamotrigine: bool = False
    is_opioid: bool = False
    is_other_sedative: bool = False
    is_oral_antidepressant: bool = False


class MedicationOut(MedicationIn):
    pass


class PriorTrialOut(PriorTrialIn):
    pass


class IntakeIn(HistoryFacts):
    """The whole intake (PUT replaces it). Lists: null = not yet recorded, [] = none."""

    referring_clinician: str = ""
    referring_organization: str = ""
    referral_reason: str = ""
    referral_received_on: dt.date | None = None
    psychiatric_notes: str = ""
    medical_notes: str = ""
    allergies: str = ""
    weight: QuantityIn | None = None
    height: QuantityIn | None = None
    measured_on: dt.date | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_pct: int | None = None
    vitals_taken_at: dt.datetime | None = None
    diagnoses: list[DiagnosisIn] | None = None
    medications: list[MedicationIn] | None = None
    trials: list[PriorTrialIn] | None = None


class QuantityOut(Schema):
    value: Decimal
    unit: str


class IntakeOut(HistoryFacts):
    patient_id: int
    referring_clinician: str
    referring_organization: str
    referral_reason: str
    referral_received_on: dt.date | None
    psychiatric_notes: str
    medical_notes: str
    allergies: str
    weight: QuantityOut | None
    height: QuantityOut | None
    weight_kg: Decimal | None
    height_cm: Decimal | None
    measured_on: dt.date | None
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_pct: int | None
    vitals_taken_at: dt.datetime | None
    diagnoses: list[DiagnosisOut] | None
    medications: list[MedicationOut] | None
    trials: list[PriorTrialOut] | None
    resistance: dict[str, Any] | None
    steps: dict[str, str] = Field(description="Wizard step -> done / started / todo")
    updated_at: dt.datetime | None


# Body fields of routes under a patient are optional in the schema and checked by the service after the
# patient is found, so another clinic's patient id answers 404 whatever the body.
class DecisionIn(Schema):
    route: Route | None = None
    outcome: Literal["approve", "decline", "override"] | None = None
    justification: str = ""


class DecisionOut(Schema):
    id: int
    patient_id: int
    route: Route
    previous_id: int | None
    evaluated_at: dt.datetime
    evaluated_by: str
    ruleset_version: str
    status: Status
    findings: list[FindingOut]
    missing_facts: list[str]
    resistance: dict[str, Any] | None
    facts: dict[str, Any]
    outcome: str
    justification: str
    signed_by: str | None
    signed_at: dt.datetime | None
    cosigned_by: str | None
    cosigned_at: dt.datetime | None
    in_effect: bool = Field(description="Approved, or an override co-signed by a second prescriber")


class ConsentIn(Schema):
    route: Route | None = None
    typed_name: str = ""
    witness_id: int | None = None


class WithdrawIn(Schema):
    reason: str = ""


class ConsentOut(Schema):
    id: int
    patient_id: int
    route: Route
    document_id: int
    document_version: str
    typed_name: str
    signed_at: dt.datetime
    witness: str
    recorded_by: str
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str
    current: bool
