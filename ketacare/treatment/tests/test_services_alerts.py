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
from ketacare.safety.models import Alert, AlertFinding
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
        stored = {f.code for f in AlertFinding.objects.filter(source_type="vitals", source_id=reading.pk)}
        if stored != codes or len(alerts) != (1 if codes else 0):
            wrong.append((values, codes, stored))
        assert all(a.status == "open" and a.patient_id == session.patient_id for a in alerts)
    assert wrong == []
    # Every out-of-range reading joined the session's one open vitals alert, as a part of it.
    assert Alert.objects.filter(source_type="vitals").count() == 1
    assert Alert.objects.get(source_type="vitals").findings.count() == sum(len(c) for _v, c in BOUNDARIES)


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


def test_overdue_vitals_are_one_alert_with_a_part_per_missed_time_point(monitoring):
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
    later = services.vitals_overdue_check(session=session)
    # The 40-min miss joins the open overdue alert (with its own time), which stays open until acknowledged.
    assert [a.pk for a in later] == [alerts[0].pk] and later[0].status == "open"
    assert [f.code for f in later[0].findings.all()] == ["vitals.overdue.15min", "vitals.overdue.40min"]
    assert "40 min" in later[0].message
    assert Alert.objects.filter(source_type="session", source_id=session.pk).count() == 1


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
    (alert,) = response.json()["alerts"]
    assert {f["code"] for f in alert["findings"]} == {"vitals.bp.high", "vitals.bp.systolic_rise"}
    assert {f["value"] for f in alert["findings"]} == {"181/95 mmHg"}
    response = client.post(f"/api/v1/sessions/{session.pk}/vitals", {"systolic_mmhg": 181},
                           content_type="application/json", headers=headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "diastolic_mmhg"]
    response = client.post(f"/api/v1/sessions/{session.pk}/vitals", {"spo2_pct": 101},
                           content_type="application/json", headers=headers)
    assert response.status_code == 422


def test_one_observation_with_several_out_of_range_values_raises_one_alert_and_a_repeat_reading_updates_it(
        client, monitoring):
    """Issue 15, point 4 (acceptance): 185/110 with a CADSS of 12 on a 128/82 baseline is four findings, one alert;
    the next reading joins it; once acknowledged, the next out-of-range reading opens a new alert."""
    session, nurse, traveller = monitoring
    first, alerts = services.vitals_record(actor=nurse, session=session, systolic_mmhg=185, diastolic_mmhg=110,
                                           cadss_total=12)
    (alert,) = alerts
    assert Alert.objects.count() == 1 and alert.severity == "high"
    assert {f.code for f in alert.findings.all()} == {"vitals.bp.high", "vitals.bp.systolic_rise",
                                                      "vitals.bp.diastolic_rise", "vitals.cadss.dissociation"}
    traveller.shift(dt.timedelta(minutes=5))
    second, again = services.vitals_record(actor=nurse, session=session, systolic_mmhg=182, diastolic_mmhg=100)
    assert [a.pk for a in again] == [alert.pk] and Alert.objects.count() == 1
    alert.refresh_from_db()
    assert alert.updated_at == second.recorded_at and "182/100" in alert.message
    assert [f.source_id for f in alert.findings.all()] == [first.pk] * 4 + [second.pk] * 2
    client.force_login(nurse)
    page = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert page.count('class="alert-item open"') == 1 and "6 findings" in page and "CADSS 12" in page
    board = client.get("/treatment/board/").content.decode()
    assert board.count("severity-badge severity-high") == 1
    done = client.post(f"/treatment/sessions/{session.pk}/acknowledge/",
                       {"alert_id": alert.pk, "common": ["Rechecked: still out of range, monitoring continues"],
                        "action": "Prescriber at the chair"})
    assert done.status_code in (200, 302)
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert alert.action_taken == "Rechecked: still out of range, monitoring continues; Prescriber at the chair"
    _, newer = services.vitals_record(actor=nurse, session=session, heart_rate_bpm=130)
    assert newer[0].pk != alert.pk and Alert.objects.count() == 2


def test_acknowledging_from_the_session_needs_a_choice_or_a_text(client, monitoring):
    session, nurse, _ = monitoring
    _, (alert,) = services.vitals_record(actor=nurse, session=session, heart_rate_bpm=130)
    client.force_login(nurse)
    refused = client.post(f"/treatment/sessions/{session.pk}/acknowledge/", {"alert_id": alert.pk,
                                                                                     "action": " "})
    assert refused.status_code == 422 and "Choose the action taken or describe it" in refused.content.decode()
    alert.refresh_from_db()
    assert alert.status == "open"
