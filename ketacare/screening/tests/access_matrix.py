"""Access matrix rows of the screening app (see tests/test_access_matrix.py)."""

from ketacare.accounts.roles import Role
from tests.roles import ADMINS, CLINICAL, PRESCRIBERS, RECORDERS

STEPS = ("referral", "diagnoses", "history", "medications", "trials", "measurements", "questionnaires", "review",
         "decision", "consent")

PAGES = {
    "screening:wizard": ("get", RECORDERS),
    **{f"screening:step-{step}": ("get", RECORDERS) for step in STEPS},
    "screening:diagnosis-add": ("post", RECORDERS),
    "screening:diagnosis-remove": ("post", RECORDERS),
    "screening:medication-add": ("post", RECORDERS),
    "screening:medication-remove": ("post", RECORDERS),
    "screening:trial-add": ("post", RECORDERS),
    "screening:trial-remove": ("post", RECORDERS),
    "screening:decision-detail": ("get", CLINICAL),
    "screening:decision-sign": ("post", PRESCRIBERS),
    "screening:decision-cosign": ("post", PRESCRIBERS),
    "screening:consent-withdraw": ("get", RECORDERS),
    "screening:eligibility-settings": ("get", ADMINS),
    "screening:consent-documents": ("get", ADMINS),
    "screening:consent-document-create": ("get", ADMINS),
    "screening:consent-document-detail": ("get", ADMINS),
    "screening:consent-document-edit": ("get", ADMINS),
    "screening:consent-document-publish": ("post", ADMINS),
}

API = {
    ("post", "/api/v1/eligibility/evaluate"): CLINICAL,
    ("get", "/api/v1/patients/{patient_id}/intake"): CLINICAL,
    ("put", "/api/v1/patients/{patient_id}/intake"): RECORDERS,
    ("get", "/api/v1/patients/{patient_id}/eligibility-decisions"): CLINICAL,
    ("post", "/api/v1/patients/{patient_id}/eligibility-decisions"): PRESCRIBERS,
    ("post", "/api/v1/patients/{patient_id}/eligibility-decisions/{decision_id}/cosign"): PRESCRIBERS,
    ("get", "/api/v1/patients/{patient_id}/consents"): CLINICAL,
    ("post", "/api/v1/patients/{patient_id}/consents"): RECORDERS,
    ("post", "/api/v1/consents/{consent_id}/withdraw"): RECORDERS,
}


def make_objects(clinic, patient, users) -> dict:
    from ketacare.screening.models import Diagnosis, Medication, PriorTrial
    from ketacare.screening.tests.factories import (
        ConsentDocumentFactory,
        EligibilityDecisionFactory,
        IntakeFactory,
        PatientConsentFactory,
    )

    intake = IntakeFactory(patient=patient, updated_by=users[Role.NURSE])
    diagnosis = Diagnosis.objects.create(clinic=clinic, intake=intake, code="F41.1")
    medication = Medication.objects.create(clinic=clinic, intake=intake, name="sertraline")
    trial = PriorTrial.objects.create(clinic=clinic, intake=intake, name="sertraline", kind="oral_antidepressant")
    decision = EligibilityDecisionFactory(patient=patient, evaluated_by=users[Role.NURSE])
    consent = PatientConsentFactory(patient=patient, witness=users[Role.NURSE])
    draft = ConsentDocumentFactory(clinic=clinic, route="iv-ketamine", published_at=None, published_by=None,
                                   created_by=users[Role.CLINIC_ADMIN])
    return {"diagnosis_id": diagnosis.pk, "medication_id": medication.pk, "trial_id": trial.pk,
            "decision_id": decision.pk, "consent_id": consent.pk, "document_id": draft.pk}
