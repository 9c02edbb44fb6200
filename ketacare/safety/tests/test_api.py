"""GET /api/v1/alerts?status=, POST /api/v1/alerts/{id}/acknowledge (issue 3 contract)."""

import json

import pytest

from ketacare.accounts.roles import Role
from ketacare.safety.models import Alert
from ketacare.safety.tests.factories import AlertFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ack(client, alert_id, body, headers):
    return client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json.dumps(body), content_type="application/json",
                       headers=headers)


def test_list_filters_by_status_and_shows_the_contract_fields(client, nurse, patient, foreign_patient, bearer):
    alert = AlertFactory(patient=patient)
    AlertFactory(patient=foreign_patient)
    headers = bearer(nurse)
    body = client.get("/api/v1/alerts?status=open", headers=headers).json()
    assert body["count"] == 1
    (item,) = body["items"]
    assert item["id"] == alert.pk and item["patient_id"] == patient.pk
    assert {"code", "severity", "message", "source_type", "source_id", "raised_at", "status", "acknowledged_by",
            "acknowledged_at", "action_taken", "seconds_to_acknowledge"} <= set(item)
    assert client.get("/api/v1/alerts?status=acknowledged", headers=headers).json()["count"] == 0
    assert client.get("/api/v1/alerts", headers=headers).json()["count"] == 1
    assert client.get("/api/v1/alerts?status=closed", headers=headers).status_code == 422


def test_acknowledge_needs_an_action_and_happens_once(client, nurse, patient, bearer):
    alert = AlertFactory(patient=patient)
    headers = bearer(nurse)
    missing = ack(client, alert.pk, {}, headers)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "action"]
    assert ack(client, alert.pk, {"action": " "}, headers).status_code == 422
    done = ack(client, alert.pk, {"action": "Assessed; safe to proceed"}, headers)
    assert done.status_code == 200 and done.json()["acknowledged_by"] == nurse.username
    again = ack(client, alert.pk, {"action": "again"}, headers)
    assert again.status_code == 409 and again.json()["code"] == "alert_already_acknowledged"


def test_acknowledge_is_403_for_a_therapist_and_404_for_another_clinic(client, patient, foreign_patient, bearer):
    therapist = UserFactory(role=Role.THERAPIST, clinic=patient.clinic)
    alert = AlertFactory(patient=patient)
    assert ack(client, alert.pk, {"action": "x"}, bearer(therapist)).status_code == 403
    foreign = AlertFactory(patient=foreign_patient)
    assert ack(client, foreign.pk, {"action": "x"}, bearer(UserFactory(role=Role.NURSE, clinic=patient.clinic))
               ).status_code == 404
    assert set(Alert.objects.values_list("status", flat=True)) == {"open"}
