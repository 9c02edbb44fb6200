"""Access matrix rows of the safety app (see tests/test_access_matrix.py)."""

from ketacare.accounts.roles import Role
from tests.roles import CLINICAL

ACKNOWLEDGERS = frozenset({Role.PRESCRIBER, Role.NURSE})

PAGES = {
    "safety:list": ("get", CLINICAL),
    "safety:detail": ("get", CLINICAL),
    "safety:acknowledge": ("post", ACKNOWLEDGERS),
}

API = {
    ("get", "/api/v1/alerts"): CLINICAL,
    ("post", "/api/v1/alerts/{alert_id}/acknowledge"): ACKNOWLEDGERS,
}


def make_objects(clinic, patient, users) -> dict:
    from ketacare.safety.tests.factories import AlertFactory

    return {"alert_id": AlertFactory(patient=patient).pk}
