"""The issue 3 API contract: /instruments, stateless /score, /patients/{id}/responses; acceptance 4 end to end."""

import datetime as dt
import itertools
import json

import pytest

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.instruments.domain import cssrs
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.instruments.tests.support import VECTOR_INSTRUMENT, shipped, vector_answers, vectors
from ketacare.safety.models import Alert
from tests.clinic_fixtures import PHQ9_ITEM9
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHIPPED_KEYS = {"phq-9", "gad-7", "lsas-sr", "lsas-cr", "spin", "mini-spin", "cssrs-screen", "cadss-6", "moaas",
                "bprs-positive", "cgi-s", "cgi-i", "vas-anxiety", "pain-nrs"}


def post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def score(client, headers, key, answers):
    return post(client, f"/api/v1/instruments/{key}/score", {"answers": answers}, headers)


def test_instruments_lists_every_shipped_key_with_its_items(client, nurse, bearer):
    body = client.get("/api/v1/instruments", headers=bearer(nurse)).json()
    by_key = {i["key"]: i for i in body}
    assert SHIPPED_KEYS <= set(by_key)
    assert set(by_key["phq-9"]) == {"key", "version", "title", "items"}
    item9 = by_key["phq-9"]["items"][8]
    assert item9["linkId"] == PHQ9_ITEM9 and item9["type"] == "choice" and item9["scored"]
    assert [o["value"] for o in item9["options"]] == [0, 1, 2, 3]
    vas = by_key["vas-anxiety"]["items"][0]
    assert (vas["type"], vas["min"], vas["max"]) == ("integer", 0, 100)
    assert by_key["lsas-sr"]["items"][0]["text"] is None  # licensed: neutral label only
    assert [i["linkId"] for i in by_key["cssrs-screen"]["items"]] == ["1", "2", "3", "4", "5", "6", "6a"]


def test_score_takes_a_list_or_a_mapping_and_stores_nothing(client, nurse, bearer):
    headers = bearer(nurse)
    by_list = score(client, headers, "phq-9", [2, 2, 1, 1, 1, 1, 1, 1, 1])
    assert by_list.status_code == 200
    assert by_list.json() == {"instrument": "phq-9", "version": "1.0.0", "status": "complete", "total": 11,
                              "subscales": {}, "band": "moderate", "missing": [],
                              "alerts": [{"code": "phq9.item9_positive", "severity": "high"}]}
    by_map = score(client, headers, "phq-9", {i.link_id: "LA6569-3" for i in shipped()["phq-9"].scored_items})
    assert (by_map.json()["total"], by_map.json()["band"]) == (9, "mild")
    assert not QuestionnaireResponse.objects.exists() and not Alert.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.RESPONSE_RECORDED).exists()


def test_score_applies_the_clinics_alert_thresholds(client, nurse, bearer):
    from ketacare.instruments import services

    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=nurse.clinic)
    services.safety_thresholds_configure(actor=admin, reason="memo", thresholds={"moaas.sedation": 2})
    assert score(client, bearer(nurse), "moaas", [3]).json()["alerts"] == []
    assert score(client, bearer(nurse), "moaas", [2]).json()["alerts"] == [{"code": "moaas.sedation",
                                                                            "severity": "high"}]


def test_score_reports_incomplete_and_subscales(client, nurse, bearer):
    body = score(client, bearer(nurse), "phq-9", [1, 1, 1]).json()
    assert (body["status"], body["total"], body["band"]) == ("incomplete", None, None)
    assert body["missing"] == [i.link_id for i in shipped()["phq-9"].scored_items[3:]]
    assert {"code": "phq9.item9_unanswered", "severity": "prompt"} in body["alerts"]
    lsas = score(client, bearer(nurse), "lsas-sr", [1] * 48).json()
    assert lsas["total"] == 48 and lsas["subscales"] == {"fear": 24, "avoidance": 24}


@pytest.mark.parametrize("vector", vectors(), ids=[v["id"] for v in vectors()])
def test_score_endpoint_matches_every_external_vector(client, nurse, bearer, vector):
    key = VECTOR_INSTRUMENT[vector["instrument"]]
    answers = vector_answers(shipped()[key], vector, by="weight")
    body = score(client, bearer(nurse), key, answers).json()
    expected = vector.get("computed_total_from_items", vector["expected_total"])
    if body["status"] == "complete":
        assert body["total"] == expected
    else:
        assert body["total"] is None and body["missing"]


def test_cssrs_list_order_is_q1_to_q6_then_6a_in_every_combination(client, nurse, bearer):
    headers = bearer(nurse)
    for combo in itertools.product((0, 1), repeat=7):
        q1, q2, q3, q4, q5, q6, q6a = combo
        answers = [q1, q2, q3 if q2 else None, q4 if q2 else None, q5 if q2 else None, q6, q6a if q6 else None]
        body = score(client, headers, "cssrs-screen", answers).json()
        expected = cssrs.triage(bool(q1), bool(q2), bool(q2 and q3), bool(q2 and q4), bool(q2 and q5), bool(q6),
                                bool(q6 and q6a))
        assert (body["status"], body["band"], body["total"]) == ("complete", expected.value, None), combo
        assert body["band"] in {"none", "low", "moderate", "high"}


@pytest.mark.parametrize("key, answers, link_id", [
    ("phq-9", [0, 0, 0, 0, 0, 0, 0, 0, 4], PHQ9_ITEM9),
    ("phq-9", {"/44250-9": "LA9999-9"}, "/44250-9"),
    ("phq-9", {"item-x": 0}, "item-x"),
    ("gad-7", [0] * 9, "[8]"),  # GAD-7 has 8 items (7 scored + difficulty)
    ("vas-anxiety", [101], "vas"),
    ("vas-anxiety", [50.5], "vas"),
    ("cssrs-screen", [0, 2], "2"),
    ("moaas", [True], "moaas"),
])
def test_score_refuses_invalid_answers_with_422_naming_the_item(client, nurse, bearer, key, answers, link_id):
    response = score(client, bearer(nurse), key, answers)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "answers", link_id] and link_id in detail["msg"]


def test_score_of_an_unknown_key_is_404_and_missing_answers_422(client, nurse, bearer):
    assert score(client, bearer(nurse), "madrs", [0]).status_code == 404
    assert post(client, "/api/v1/instruments/phq-9/score", {}, bearer(nurse)).status_code == 422
    assert post(client, "/api/v1/instruments/phq-9/score", {"answers": "0,1"}, bearer(nurse)).status_code == 422


def test_acceptance_4_item9_via_the_api_opens_an_alert_seen_by_prescriber_and_nurse(
        client, nurse, prescriber, patient, bearer):
    response = post(client, f"/api/v1/patients/{patient.pk}/responses",
                    {"instrument": "phq-9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 2],
                     "answered_at": "2026-03-02T09:15:00-05:00"}, bearer(nurse))
    assert response.status_code == 201
    body = response.json()
    assert (body["instrument"], body["version"], body["status"], body["total"], body["band"]) == (
        "phq-9", "1.0.0", "complete", 10, "moderate")
    assert body["answers"][PHQ9_ITEM9] == 2 and body["entered_by"] == nurse.username
    assert dt.datetime.fromisoformat(body["answered_at"]) == dt.datetime(2026, 3, 2, 14, 15, tzinfo=dt.UTC)
    (raised,) = body["alerts"]
    assert (raised["code"], raised["severity"], raised["status"]) == ("phq9.item9_positive", "high", "open")

    for user in (prescriber, nurse):
        open_alerts = client.get("/api/v1/alerts?status=open", headers=bearer(user)).json()["items"]
        assert [a["id"] for a in open_alerts] == [raised["id"]]

    ack = post(client, f"/api/v1/alerts/{raised['id']}/acknowledge",
               {"action": "C-SSRS screen: low risk; safety plan reviewed"}, bearer(prescriber))
    assert ack.status_code == 200
    assert (ack.json()["status"], ack.json()["acknowledged_by"]) == ("acknowledged", prescriber.username)
    assert ack.json()["action_taken"] == "C-SSRS screen: low risk; safety plan reviewed"
    assert ack.json()["acknowledged_at"] and ack.json()["seconds_to_acknowledge"] >= 0
    alert = Alert.objects.get()
    assert (alert.acknowledged_by, alert.action_taken) == (prescriber, "C-SSRS screen: low risk; safety plan reviewed")
    assert client.get("/api/v1/alerts?status=open", headers=bearer(nurse)).json()["items"] == []
    assert post(client, f"/api/v1/alerts/{raised['id']}/acknowledge", {"action": "again"},
                bearer(nurse)).status_code == 409


def test_recording_refuses_bad_bodies_and_stores_nothing(client, nurse, patient, bearer):
    url = f"/api/v1/patients/{patient.pk}/responses"
    base = {"instrument": "gad-7", "answers": [0] * 7, "answered_at": "2026-03-02T09:15:00Z"}
    cases = [
        ({k: v for k, v in base.items() if k != "answered_at"}, ["body", "answered_at"]),
        ({k: v for k, v in base.items() if k != "instrument"}, ["body", "instrument"]),
        (base | {"answers": [0, 0, 5]}, ["body", "answers", "/69733-4"]),
        (base | {"mode": "telepathy"}, ["body", "mode"]),
        (base | {"answered_at": "2999-01-01T00:00:00Z"}, ["body", "answered_at"]),
    ]
    for body, loc in cases:
        response = post(client, url, body, bearer(nurse))
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == loc
    assert post(client, url, base | {"instrument": "nope"}, bearer(nurse)).status_code == 404
    assert not QuestionnaireResponse.objects.exists()


def test_responses_list_shows_history_with_amendments_and_is_audited(client, nurse, patient, bearer, earlier):
    from ketacare.instruments import services

    first = services.response_record(patient=patient, actor=nurse, instrument_key="gad-7", answers=[1] * 7,
                                     answered_at=earlier, mode="self_report")
    services.response_amend(original=first, actor=nurse, answers=[2] * 7, reason="misread")
    body = client.get(f"/api/v1/patients/{patient.pk}/responses", headers=bearer(nurse)).json()
    assert [(r["total"], r["supersedes"], r["superseded_by"]) for r in body] == [
        (14, first.pk, None), (7, None, body[0]["id"])]
    assert body[0]["amendment_reason"] == "misread"
    assert client.get(f"/api/v1/patients/{patient.pk}/responses?instrument=phq-9", headers=bearer(nurse)).json() == []
    assert AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED, patient_id=patient.pk).exists()


def test_another_clinics_patient_is_404_and_front_desk_is_403(client, nurse, foreign_patient, patient, bearer):
    url = f"/api/v1/patients/{foreign_patient.pk}/responses"
    body = {"instrument": "gad-7", "answers": [0] * 7, "answered_at": "2026-03-02T09:15:00Z"}
    assert post(client, url, body, bearer(nurse)).status_code == 404
    assert client.get(url, headers=bearer(nurse)).status_code == 404
    front_desk = UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic)
    assert client.get(f"/api/v1/patients/{patient.pk}/responses", headers=bearer(front_desk)).status_code == 403
    assert score(client, bearer(front_desk), "phq-9", [0] * 9).status_code == 403
