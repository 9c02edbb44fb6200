"""Access matrix rows of the instruments app (see tests/test_access_matrix.py)."""

from ketacare.accounts.roles import Role
from ketacare.instruments.tests.support import fixture_json
from tests.roles import ADMINS, CLINICAL, RECORDERS

PAGES = {
    "instruments:response-create": ("get", RECORDERS),
    "instruments:history": ("get", CLINICAL),
    "instruments:response-detail": ("get", CLINICAL),
    "instruments:response-amend": ("get", RECORDERS),
    "instruments:licensed-text": ("get", ADMINS),
    "instruments:licensed-text-template": ("get", ADMINS),
    "instruments:safety-thresholds": ("get", ADMINS),
}

API = {
    ("get", "/api/v1/instruments"): CLINICAL,
    ("post", "/api/v1/instruments/{key}/score"): CLINICAL,
    ("post", "/api/v1/patients/{patient_id}/responses"): RECORDERS,
    ("get", "/api/v1/patients/{patient_id}/responses"): CLINICAL,
}


def make_objects(clinic, patient, users) -> dict:
    from ketacare.instruments import services
    from ketacare.instruments.tests.factories import ResponseFactory

    response = ResponseFactory(patient=patient, entered_by=users[Role.NURSE])
    # An instrument imported for this clinic only: another clinic's staff must get 404 for its key.
    imported, _ = services.instrument_import(source=fixture_json("lforms_phq9_R4.json"), key=f"matrix-{clinic.code}",
                                             clinic=clinic)
    return {"response_id": response.pk, "key": imported.key}
