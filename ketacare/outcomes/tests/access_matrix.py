"""Who may reach the outcomes pages and API routes (see tests/test_access_matrix.py)."""

from ketacare.accounts.roles import Role
from tests.roles import ADMINS, CLINICAL, PRESCRIBERS

RESEARCHERS = frozenset({Role.RESEARCHER})

PAGES = {
    "outcomes:report": ("get", CLINICAL),
    "outcomes:report-csv": ("get", CLINICAL),
    "outcomes:report-patients-csv": ("get", CLINICAL),
    "outcomes:report-pdf": ("get", CLINICAL),
    "outcomes:research": ("get", RESEARCHERS),
    "outcomes:research-csv": ("get", RESEARCHERS),
    "outcomes:research-pdf": ("get", RESEARCHERS),
    "outcomes:settings": ("get", ADMINS),
    "outcomes:patient": ("get", CLINICAL),
    "outcomes:patient-svg": ("get", CLINICAL),
    "outcomes:patient-section": ("get", CLINICAL),
    "outcomes:patient-pdf": ("get", CLINICAL),
    "outcomes:letter-create": ("post", PRESCRIBERS),
    "outcomes:letter": ("get", CLINICAL),
    "outcomes:letter-edit": ("post", PRESCRIBERS),
    "outcomes:letter-send": ("post", PRESCRIBERS),
    "outcomes:letter-pdf": ("get", CLINICAL),
}

API = {
    ("get", "/api/v1/patients/{patient_id}/outcomes"): CLINICAL,
    ("get", "/api/v1/outcomes/report"): CLINICAL,
    ("get", "/api/v1/outcomes/research-report"): RESEARCHERS,
}


def make_objects(clinic, patient, users) -> dict[str, int]:
    from ketacare.outcomes.tests.factories import letter

    return {"letter_id": letter(patient, users[Role.PRESCRIBER]).pk}
