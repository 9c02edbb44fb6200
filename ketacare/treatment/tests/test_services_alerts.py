"""Acceptance 3: vitals and scores beyond the protocol's thresholds raise alerts exactly at their boundaries (clinic
values included), overdue readings are alerts too, and an open high suicide-risk alert blocks dosing until a
prescriber clears it."""

import datetime as dt

import pytest
import time_machine

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.safety.models import Alert
from ketacare.treatment import services
from ketacare.treatment.domain.states import TransitionRefused
from ketacare.treatment.models import SuicideRiskClearance
from ketacare.treatment.tests.factories import (
    BASELINE,
    CSSRS_HIGH,
    PHQ9_ITEM9_POSITIVE,
    staff,
    started_course,
    walk,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def monitoring():
    """An esketamine session being monitored; the baseline is 128/82."""
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="monitoring", traveller=traveller)
        yield session, nurse, traveller


# (measure values, alert codes expected) at and just beyond each default threshold; the baseline is 128/82, so the
# absolute BP rows also cross the rise rule (>= 40 systolic / >= 25 diastolic), which is part of the expectation.
BOUNDARIES = [
    ({"systolic_mmhg": 180, "diastolic_mmhg": 106}, {"vitals.bp.systolic_rise"}),
    ({"systolic_mmhg": 181, "diastolic_mmhg": 106}, {"vitals.bp.high", "vitals.bp.systolic_rise"}),
    ({"systolic_mmhg": 160, "diastolic_mmhg": 110}, {"vitals.bp.diastolic_rise"}),
    ({"systolic_mmhg": 160, "diastolic_mmhg": 111}, {"vitals.bp.high", "vitals.bp.diastolic_rise"}),
    ({"systolic_mmhg": 200, "diastolic_mmhg": 105}, {"vitals.bp.high", "vitals.bp.systolic_rise"}),
    ({"systolic_mmhg": 201, "diastolic_mmhg": 105}, {"vitals.bp.critical", "vitals.bp.systolic_rise"}),
    ({"systolic_mmhg": 150, "diastolic_mmhg": 120}, {"vitals.bp.high", "vitals.bp.diastolic_rise"}),
    ({"systolic_mmhg": 150, "diastolic_mmhg": 121}, {"vitals.bp.critical", "vitals.bp.diastolic_rise"}),
    ({"systolic_mmhg": 167, "diastolic_mmhg": 90}, set()),  # systolic rise 39
    ({"systolic_mmhg": 168, "diastolic_mmhg": 90}, {"vitals.bp.systolic_rise"}),  # rise 40
    ({"systolic_mmhg": 140, "diastolic_mmhg": 106}, set()),  # diastolic rise 24
    ({"systolic_mmhg": 140, "diastolic_mmhg": 107}, {"vitals.bp.diastolic_rise"}),  # rise 25
    ({"heart_rate_bpm": 120}, set()), ({"heart_rate_bpm": 121}, {"vitals.hr.high"}),
    ({"heart_rate_bpm": 50}, set()), ({"heart_rate_bpm": 49}, {"vitals.hr.low"}),
    ({"spo2_pct": 92}, set()), ({"spo2_pct": 91}, {"vitals.spo2.low"}),
    ({"spo2_pct": 88}, {"vitals.spo2.low"}), ({"spo2_pct": 87}, {"vitals.spo2.critical"}),
    ({"resp_rate_per_min": 10}, set()), ({"resp_rate_per_min": 9}, {"vitals.rr.low"}),
    ({"resp_rate_per_min": 24}, set()), ({"resp_rate_per_min": 25}, {"vitals.rr.high"}),
    ({"moaas": 4}, set()), ({"moaas": 3}, {"vitals.moaas.sedation"}),
    ({"moaas": 2}, {"vitals.moaas.sedation"}), ({"moaas": 1}, {"vitals.moaas.critical"}),
    ({"cadss_total": 4}, set()), ({"cadss_total": 5}, {"vitals.cadss.dissociation"}),
]


def test_thresholds_fire_exactly_at_their_boundaries(monitoring):
    """The whole table on one session (each reading is judged on its own against the same baseline)."""
    session, nurse, _ = monitoring
    wrong = []
    for values, codes in BOUNDARIES:
        reading, alerts = services.vitals_record(actor=nurse, session=session, **values)
        stored = Alert.objects.filter(source_type="vitals", source_id=reading.pk)
        if {a.code for a in alerts} != codes or {a.code for a in stored} != codes:
            wrong.append((values, codes, {a.code for a in alerts}))
        assert all(a.status == "open" and a.patient_id == session.patient_id for a in stored)
    assert wrong == []


def test_critical_readings_are_emergencies_and_block_observation(monitoring):
    session, nurse, _ = monitoring
    _, alerts = services.vitals_record(actor=nurse, session=session, spo2_pct=85)
    assert alerts[0].severity == "emergency"
    with pytest.raises(TransitionRefused, match="critical alert"):
        services.session_transition(actor=nurse, session=session, to="observation")
    services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alerts[0].pk,
                                       action="oxygen 2 L, SpO2 back to 96 %")
    services.session_transition(actor=nurse, session=session, to="observation")


def test_clinic_thresholds_replace_the_defaults_at_their_own_boundary():
    nurse, prescriber = staff()
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=nurse.clinic)
    services.protocol_configure(actor=admin, protocol_ref="esketamine-trd@1", reason="MD policy 2026-02",
                                overrides={"thresholds": {"systolic_alert_above_mmhg": 165}})
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="monitoring", traveller=traveller)
        assert services.vitals_record(actor=nurse, session=session, systolic_mmhg=165, diastolic_mmhg=90)[1] == []
        assert [a.code for a in services.vitals_record(actor=nurse, session=session, systolic_mmhg=166,
                                                       diastolic_mmhg=90)[1]] == ["vitals.bp.high"]


def test_a_later_clinic_change_does_not_alter_a_session_already_checked_in(monitoring):
    session, nurse, _ = monitoring
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=session.clinic)
    services.protocol_configure(actor=admin, protocol_ref="esketamine-trd@1", reason="stricter",
                                overrides={"thresholds": {"systolic_alert_above_mmhg": 150}})
    assert services.vitals_record(actor=nurse, session=session, systolic_mmhg=160, diastolic_mmhg=90)[1] == []


def test_alerts_show_at_once_on_the_session_page_and_the_board(client, monitoring):
    session, nurse, _ = monitoring
    services.vitals_record(actor=nurse, session=session, systolic_mmhg=185, diastolic_mmhg=100)
    client.force_login(nurse)
    page = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert "above 180/110: recheck" in page and 'id="alerts"' in page
    board = client.get("/treatment/board/").content.decode()
    assert "above 180/110" in board and "has-alerts" in board


def test_overdue_vitals_raise_one_alert_per_missed_time_point(monitoring):
    session, nurse, traveller = monitoring
    first = T0  # first device
    traveller.move_to(first + dt.timedelta(minutes=15 + 5, seconds=1))  # 15-min slot, 5 min grace passed
    alerts = services.vitals_overdue_check(session=session)
    assert [a.code for a in alerts] == ["vitals.overdue.15min"] and alerts[0].severity == "moderate"
    assert services.vitals_overdue_check(session=session)[0].pk == alerts[0].pk  # once per time point
    assert Alert.objects.filter(source_type="session", source_id=session.pk).count() == 1
    services.vitals_record(actor=nurse, session=session, **BASELINE)  # late reading fills the 15-min slot
    traveller.move_to(first + dt.timedelta(minutes=45))  # 40-min slot: still within its grace
    assert services.vitals_overdue_check(session=session) == []
    traveller.move_to(first + dt.timedelta(minutes=45, seconds=1))
    assert [a.code for a in services.vitals_overdue_check(session=session)] == ["vitals.overdue.40min"]
    # The first alert stays open until someone acknowledges it with the action taken.
    assert Alert.objects.get(code="vitals.overdue.15min").status == "open"


def test_overdue_alerts_come_from_the_worker_not_from_the_board_refresh(client, monitoring):
    from ketacare.worker import periodic

    session, nurse, traveller = monitoring
    traveller.move_to(T0 + dt.timedelta(minutes=30))
    client.force_login(nurse)
    client.get("/treatment/board/", headers={"HX-Request": "true", "HX-Target": "board-rows",
                                             "X-KetaCare-Poll": "1"})
    assert not Alert.objects.filter(code="vitals.overdue.15min").exists()
    assert "treatment.vitals_overdue" in periodic.run_due(now=T0 + dt.timedelta(minutes=30))
    assert Alert.objects.filter(code="vitals.overdue.15min").exists()


@pytest.mark.parametrize("answers,instrument", [(CSSRS_HIGH, "cssrs-screen"), (PHQ9_ITEM9_POSITIVE, "phq-9")])
def test_an_open_suicide_risk_alert_blocks_dosing_until_a_prescriber_clears_it(answers, instrument):
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False):
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        services.session_measure_record(actor=nurse, session=session, instrument_key=instrument, answers=answers,
                                        answered_at=T0, mode="self_report")
        with pytest.raises(TransitionRefused) as exc:
            services.session_transition(actor=nurse, session=session, to="dosing")
        assert exc.value.code == "predose.suicide_alert_open"
        alert = Alert.objects.get(patient=session.patient, status="open")
        # A nurse may acknowledge it, but that does not clear dosing: a prescriber must.
        services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alert.pk,
                                           action="stayed with the patient, paged the prescriber")
        with pytest.raises(TransitionRefused, match="cleared by a prescriber"):
            services.session_transition(actor=nurse, session=session, to="dosing")
        with pytest.raises(PermissionDenied):
            services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alert.pk, action="ok")
        services.session_alert_acknowledge(actor=prescriber, session=session, alert_id=alert.pk,
                                           action="assessed: passive ideation, safety plan, fit to dose")
        services.session_transition(actor=nurse, session=session, to="dosing")
    assert AuditEvent.objects.filter(action=AuditAction.SUICIDE_RISK_CLEARED, actor=prescriber).exists()


def test_a_prescriber_acknowledging_the_alert_clears_it_directly():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False):
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        services.session_measure_record(actor=nurse, session=session, instrument_key="cssrs-screen",
                                        answers=CSSRS_HIGH, answered_at=T0, mode="clinician")
        alert = Alert.objects.get(patient=session.patient, status="open")
        with pytest.raises(TransitionRefused):
            services.session_transition(actor=nurse, session=session, to="dosing")
        services.session_alert_acknowledge(actor=prescriber, session=session, alert_id=alert.pk,
                                           action="full assessment, no current intent")
        services.session_transition(actor=nurse, session=session, to="dosing")
    alert.refresh_from_db()
    session.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == prescriber
    assert alert.action_taken == "full assessment, no current intent"
    assert SuicideRiskClearance.objects.get(alert=alert).cleared_by == prescriber
    assert session.state == "dosing"


def test_api_vitals_return_the_alerts_they_raised(client, monitoring):
    session, nurse, _ = monitoring
    headers = {"Authorization": f"Bearer {token_create(user=nurse)}"}
    response = client.post(f"/api/v1/sessions/{session.pk}/vitals", {"systolic_mmhg": 181, "diastolic_mmhg": 95},
                           content_type="application/json", headers=headers)
    assert response.status_code == 201
    assert {a["code"] for a in response.json()["alerts"]} == {"vitals.bp.high", "vitals.bp.systolic_rise"}
    response = client.post(f"/api/v1/sessions/{session.pk}/vitals", {"systolic_mmhg": 181},
                           content_type="application/json", headers=headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "diastolic_mmhg"]
    response = client.post(f"/api/v1/sessions/{session.pk}/vitals", {"spo2_pct": 101},
                           content_type="application/json", headers=headers)
    assert response.status_code == 422
