"""Outcomes API: a patient's outcomes, the clinic report for clinicians and the de-identified one for researchers."""

import pytest

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.outcomes.tests.factories import staff, treated_patients
from ketacare.patients.models import Patient
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db


def _auth(user) -> dict:
    return {"Authorization": f"Bearer {token_create(user=user)}"}


@pytest.fixture
def world():
    clinic = ClinicFactory()
    users = staff(clinic)
    ids = treated_patients(clinic, 30, users=users, seed=4)
    return clinic, users, ids


def test_patient_outcomes(client, world):
    clinic, users, ids = world
    response = client.get(f"/api/v1/patients/{ids[0]}/outcomes", headers=_auth(users["nurse"]))
    assert response.status_code == 200
    body = response.json()
    phq = next(i for i in body["instruments"] if i["instrument"] == "phq-9")
    assert body["doses"] >= 1 and phq["values"] >= 2 and phq["baseline"] is not None
    assert set(phq) >= {"change", "response", "remission", "days_to_first_response", "relapses"}
    assert AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED, patient_id=ids[0]).exists()


def test_patient_outcomes_of_another_clinic_is_404_and_researchers_are_refused(client, world):
    _, _, ids = world
    other = UserFactory(role=Role.PRESCRIBER)
    assert client.get(f"/api/v1/patients/{ids[0]}/outcomes", headers=_auth(other)).status_code == 404
    researcher = UserFactory(role=Role.RESEARCHER, clinic=Patient.objects.get(pk=ids[0]).clinic)
    assert client.get(f"/api/v1/patients/{ids[0]}/outcomes", headers=_auth(researcher)).status_code == 403


def test_report_and_filters(client, world):
    clinic, users, _ = world
    body = client.get("/api/v1/outcomes/report?route=iv", headers=_auth(users["prescriber"])).json()
    assert body["deidentified"] is False and isinstance(body["patients"], int)
    phq = next(i for i in body["instruments"] if i["instrument"] == "phq-9")
    assert 0 <= phq["response"]["rate"] <= 1 and phq["response"]["ci_low"] <= phq["response"]["rate"]
    assert client.get("/api/v1/outcomes/report", headers=_auth(UserFactory(role=Role.RESEARCHER))).status_code == 403


def test_research_report_is_deidentified_and_suppressed(client, world):
    clinic, _, ids = world
    researcher = UserFactory(role=Role.RESEARCHER, clinic=clinic)
    response = client.get("/api/v1/outcomes/research-report?start_year=2000&end_year=2100", headers=_auth(researcher))
    body = response.json()
    assert body["deidentified"] is True and body["patients"] == 30
    text = response.content.decode()
    for p in Patient.objects.filter(pk__in=ids):
        assert p.mrn not in text and p.family_name not in text
    suppressed = [i for i in body["instruments"] if i["remission"]["numerator"] == "<11"]
    assert all(i["remission"]["rate"] is None and i["remission"]["ci_low"] is None for i in suppressed)
    assert all(p["at_risk"] >= 11 for i in body["instruments"] for p in i["relapse_curve"])
