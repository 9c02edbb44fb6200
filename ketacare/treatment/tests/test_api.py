"""API: courses (list, start with the clearance check, read), sessions (read with allowed transitions and the
pre-dose refusals). Transitions, vitals and dose routes are exercised next to their rules."""

import datetime as dt

import pytest
import time_machine

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.screening.tests.factories import clear_for_route
from ketacare.treatment.models import Course
from ketacare.treatment.tests.factories import staff, started_course
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC), tick=False):
        yield


def bearer(user):
    return {"Authorization": f"Bearer {token_create(user=user)}"}


def test_api_course_start_is_refused_without_clearance_with_the_reasons(client):
    prescriber = UserFactory(role=Role.PRESCRIBER)
    patient = PatientFactory(clinic=prescriber.clinic)
    url = f"/api/v1/patients/{patient.pk}/courses"
    body = {"protocol": "esketamine-trd@1", "start_on": "2026-03-02"}
    response = client.post(url, body, content_type="application/json", headers=bearer(prescriber))
    assert response.status_code == 409
    assert response.json()["code"] == "course.not_cleared"
    assert "No consent to Esketamine nasal spray on file" in response.json()["reasons"]
    assert not Course.objects.exists()
    clear_for_route(patient, "esketamine")
    response = client.post(url, body, content_type="application/json", headers=bearer(prescriber))
    assert response.status_code == 201
    data = response.json()
    assert (data["protocol"], data["status"], data["sessions_planned"], data["next_due_on"]) == (
        "esketamine-trd@1", "active", 12, "2026-03-02")
    listed = client.get(url, headers=bearer(prescriber)).json()
    assert [c["id"] for c in listed] == [data["id"]]


def test_api_course_input_errors_name_the_field(client):
    prescriber = UserFactory(role=Role.PRESCRIBER)
    patient = PatientFactory(clinic=prescriber.clinic)
    url = f"/api/v1/patients/{patient.pk}/courses"
    response = client.post(url, {"start_on": "2026-03-02"}, content_type="application/json", headers=bearer(prescriber))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "protocol"]
    response = client.post(url, {"protocol": "lsd@1", "start_on": "2026-03-02"}, content_type="application/json",
                           headers=bearer(prescriber))
    assert response.status_code == 422


def test_api_course_and_session_reads(client):
    nurse, prescriber = staff()
    course = started_course(prescriber=prescriber)
    session = course.sessions.first()
    data = client.get(f"/api/v1/courses/{course.pk}", headers=bearer(nurse)).json()
    assert len(data["sessions"]) == 12 and data["sessions"][0]["state"] == "scheduled"
    data = client.get(f"/api/v1/sessions/{session.pk}", headers=bearer(nurse)).json()
    assert data["allowed_transitions"] == ["cancelled", "checked_in"]
    assert data["observation_minimum_minutes"] == 120 and data["protocol"] == "esketamine-trd@1"
    assert "given_name" not in data and "family_name" not in data  # ids only
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_VIEWED, data__via="api").exists()


def test_api_reads_of_another_clinic_are_404(client):
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    outsider = UserFactory(role=Role.NURSE, clinic=ClinicFactory())
    assert client.get(f"/api/v1/sessions/{session.pk}", headers=bearer(outsider)).status_code == 404
    assert client.post(f"/api/v1/sessions/{session.pk}/vitals", {"heart_rate_bpm": 70},
                       content_type="application/json", headers=bearer(outsider)).status_code == 404
