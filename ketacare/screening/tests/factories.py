"""Factories for intake, eligibility decisions and consent (fake data only).

For other apps' tests: `ApprovedDecisionFactory(patient=p, route="esketamine")` and
`CurrentConsentFactory(patient=p, route="esketamine")` make `route_clearance` ok; `clear_for_route(p, route)` makes
both. `DeclinedDecisionFactory`, `OverrideAwaitingCosignFactory` and `PatientConsentFactory(withdrawn=True)` make
the refusals.
"""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.screening.domain.rules import RULESET_VERSION
from ketacare.screening.models import (
    ConsentDocument,
    EligibilityDecision,
    Intake,
    Outcome,
    PatientConsent,
    StatusChoice,
)
from tests.factories import PatientFactory, UserFactory


def _staff(role):
    return factory.LazyAttribute(lambda o: UserFactory(role=role, clinic=o.patient.clinic))


class IntakeFactory(factory.django.DjangoModelFactory):
    """An empty intake (everything still to be recorded)."""

    class Meta:
        model = Intake

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
    updated_by = _staff(Role.NURSE)


class CompleteIntakeFactory(IntakeFactory):
    """A fully assessed intake with nothing contraindicating (lists complete and empty)."""

    referring_clinician = "Dr Referrer"
    referral_reason = "Treatment-resistant depression with social anxiety"
    referral_received_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=14))
    psychosis_history = False
    psychosis_current = False
    mania_or_bipolar_history = False
    mania_current = False
    substance_use_disorder_history = False
    substance_use_disorder_current = False
    ketamine_misuse_history = False
    prior_suicide_attempt = False
    suicidal_intent_current = False
    lacks_capacity_to_consent = False
    hypertension = False
    hypertension_uncontrolled = False
    aneurysmal_vascular_disease = False
    arteriovenous_malformation = False
    intracerebral_hemorrhage_history = False
    cardiovascular_disease = False
    cerebrovascular_disease = False
    raised_intracranial_pressure = False
    hepatic_disease = False
    interstitial_cystitis = False
    pregnant = False
    breastfeeding = False
    hypersensitivity_ketamine = False
    diagnoses_complete = True
    medications_complete = True
    trials_complete = True
    weight_kg = Decimal("70")
    weight_entered = Decimal("70")
    weight_unit = "kg"
    height_cm = Decimal("175")
    height_entered = Decimal("175")
    height_unit = "cm"
    measured_on = factory.LazyFunction(timezone.localdate)
    systolic_mmhg = 118
    diastolic_mmhg = 76
    heart_rate_bpm = 70
    vitals_taken_at = factory.LazyFunction(timezone.now)


class ConsentDocumentFactory(factory.django.DjangoModelFactory):
    """A published consent document (pass published_at=None for a draft)."""

    class Meta:
        model = ConsentDocument

    clinic = factory.SubFactory("tests.factories.ClinicFactory")
    route = "esketamine"
    version = factory.Sequence(lambda n: f"1.{n}")
    title = factory.LazyAttribute(lambda o: f"Consent to {o.route} treatment")
    body = "You agree to supervised treatment. Risks include dissociation, sedation and a rise in blood pressure."
    effective_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    created_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.CLINIC_ADMIN, clinic=o.clinic))
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
    published_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    published_by = factory.SelfAttribute("created_by")


class EligibilityDecisionFactory(factory.django.DjangoModelFactory):
    """An unsigned evaluation (status eligible) of a patient for a route."""

    class Meta:
        model = EligibilityDecision

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    route = "esketamine"
    evaluated_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))
    evaluated_on = factory.LazyAttribute(lambda o: timezone.localdate(o.evaluated_at))
    evaluated_by = _staff(Role.NURSE)
    ruleset_version = RULESET_VERSION
    status = StatusChoice.ELIGIBLE
    findings = factory.LazyFunction(list)
    missing_facts = factory.LazyFunction(list)
    facts = factory.LazyFunction(dict)
    facts_digest = "0" * 64
    params = factory.LazyFunction(dict)


class ApprovedDecisionFactory(EligibilityDecisionFactory):
    """A prescriber's signed approval: with a current consent, the route is cleared."""

    outcome = Outcome.APPROVE
    signed_by = _staff(Role.PRESCRIBER)
    signed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))


class DeclinedDecisionFactory(ApprovedDecisionFactory):
    outcome = Outcome.DECLINE
    justification = "Declined after review of the findings."


class OverrideAwaitingCosignFactory(ApprovedDecisionFactory):
    status = StatusChoice.NOT_ELIGIBLE
    outcome = Outcome.OVERRIDE
    justification = "Benefit outweighs the risk; discussed with the patient."
    findings = factory.LazyFunction(lambda: [{"rule_code": "esk.hypersensitivity", "verdict": "exclude",
                                              "message": "Hypersensitivity.", "citation": "docs/domain/x.md"}])


class CosignedOverrideFactory(OverrideAwaitingCosignFactory):
    cosigned_by = _staff(Role.PRESCRIBER)
    cosigned_at = factory.LazyFunction(timezone.now)


class PatientConsentFactory(factory.django.DjangoModelFactory):
    """A captured consent to a route, on a published document of the patient's clinic."""

    class Meta:
        model = PatientConsent

    class Params:
        withdrawn = factory.Trait(
            withdrawn_at=factory.LazyFunction(timezone.now),
            withdrawal_reason="Patient withdrew consent by phone.",
            withdrawal_recorded_by=factory.SelfAttribute("witness"),
        )

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    route = "esketamine"
    document = factory.LazyAttribute(lambda o: ConsentDocumentFactory(clinic=o.patient.clinic, route=o.route))
    typed_name = factory.LazyAttribute(lambda o: f"{o.patient.given_name} {o.patient.family_name}")
    signed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    witness = _staff(Role.NURSE)
    recorded_by = factory.SelfAttribute("witness")


CurrentConsentFactory = PatientConsentFactory


def clear_for_route(patient, route: str) -> tuple[EligibilityDecision, PatientConsent]:
    """A signed approval and a current consent: `route_clearance(patient=patient, route=route, ...)` is ok."""
    return (ApprovedDecisionFactory(patient=patient, route=route),
            PatientConsentFactory(patient=patient, route=route))


PHQ9_ITEMS = ("/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3",
              "/44260-8")
PHQ9_CODES = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")  # 0..3
CSSRS_ANSWERS = {
    "none": {"1": "no", "2": "no", "6": "no"},
    "low": {"1": "yes", "2": "no", "6": "no"},
    "moderate": {"1": "yes", "2": "yes", "3": "yes", "4": "no", "5": "no", "6": "no"},
    "high": {"1": "yes", "2": "yes", "3": "yes", "4": "yes", "5": "no", "6": "no"},
}


def record_baseline_questionnaires(patient, actor, *, cssrs: str = "none", phq9_item9: int | None = 0,
                                   phq9_others: int = 1, bprs: int | None = None) -> dict:
    """Baseline C-SSRS screener and PHQ-9 (and optionally BPRS+) through the instruments app's service."""
    from ketacare.instruments.services import response_record

    now = timezone.now()
    recorded = {}
    if cssrs is not None:
        recorded["cssrs-screen"] = response_record(
            patient=patient, actor=actor, instrument_key="cssrs-screen", answers=CSSRS_ANSWERS[cssrs],
            answered_at=now, mode="clinician")
    answers = {link_id: PHQ9_CODES[phq9_others] for link_id in PHQ9_ITEMS[:8]}
    answers["/44260-8"] = None if phq9_item9 is None else PHQ9_CODES[phq9_item9]
    recorded["phq-9"] = response_record(patient=patient, actor=actor, instrument_key="phq-9", answers=answers,
                                        answered_at=now, mode="self_report")
    if bprs is not None:
        recorded["bprs-positive"] = response_record(
            patient=patient, actor=actor, instrument_key="bprs-positive",
            answers={"suspiciousness": str(bprs), "hallucinatory-behavior": "1", "unusual-thought-content": "1",
                     "conceptual-disorganization": "1"}, answered_at=now, mode="clinician")
    return recorded
