"""Review fixes: the observation clock cannot be shortened by a backdated first dose, suicide-risk clearance depends
on the role at the time, discharge criteria are confirmed in observation and lapse when later vitals alarm, later
esketamine devices are re-checked, and reads of courses and boards are audited."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.safety.models import Alert
from ketacare.treatment import links, services
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.states import TransitionRefused
from ketacare.treatment.models import SessionLocked, SuicideRiskClearance
from ketacare.treatment.tests.factories import BASELINE, CSSRS_HIGH, staff, started_course, walk

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def _suicide_alert(session, nurse):
    services.session_measure_record(actor=nurse, session=session, instrument_key="cssrs-screen",
                                    answers=CSSRS_HIGH, answered_at=T0, mode="clinician")
    return Alert.objects.get(patient=session.patient, status="open", code__in=links.SUICIDE_RISK_CODES)


# ---- A. backdated first dose -----------------------------------------------------------------------------------

def test_a_dose_time_before_dosing_started_is_refused():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        traveller.shift(dt.timedelta(minutes=10))
        services.session_transition(actor=nurse, session=session, to="dosing")
        with pytest.raises(ValidationError) as exc:
            services.dose_administer(actor=nurse, session=session, lot_number="LOT-1",
                                     given_at=T0 + dt.timedelta(minutes=5))
        assert "before dosing started" in exc.value.message_dict["given_at"][0]
        row = services.dose_administer(actor=nurse, session=session, lot_number="LOT-1",
                                       given_at=T0 + dt.timedelta(minutes=10))
    assert row.given_at == T0 + dt.timedelta(minutes=10)


def test_the_observation_clock_never_starts_before_dosing_began():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="observation", traveller=traveller)
        entered = sel.dosing_entered_at(session)
        # A first-dose time written before the rule existed (backdated an hour before dosing began).
        session.refresh_from_db()
        session.first_dose_at = entered - dt.timedelta(hours=1)
        session.save(update_fields=["first_dose_at"])  # the session is not signed: it may still change
        assert sel.observation_start(session) == entered
        traveller.move_to(entered + dt.timedelta(minutes=70))  # 130 min after the typed time, 70 after dosing
        protocol = sel.session_protocol(session)
        services.discharge_criteria_record(actor=nurse, session=session, criteria=list(protocol.discharge_criteria))
        with pytest.raises(TransitionRefused) as exc:
            services.session_transition(actor=nurse, session=session, to="ready_for_discharge")
        assert "discharge.observation_minimum" in [r.code for r in exc.value.refusals]


# ---- B. suicide-risk clearance by the role at the time ---------------------------------------------------------

def test_a_nurse_acknowledgement_still_blocks_after_the_nurse_is_promoted():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False):
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        alert = _suicide_alert(session, nurse)
        services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alert.pk,
                                           action="stayed with the patient, paged the prescriber")
        nurse.role = Role.PRESCRIBER
        nurse.save()
        with pytest.raises(TransitionRefused) as exc:
            services.session_transition(actor=prescriber, session=session, to="dosing")
        assert exc.value.code == "predose.suicide_alert_open"


def test_a_prescriber_acknowledging_from_the_session_writes_the_clearance():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False):
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        alert = _suicide_alert(session, nurse)
        services.session_alert_acknowledge(actor=prescriber, session=session, alert_id=alert.pk,
                                           action="full assessment, no current intent")
        clearance = SuicideRiskClearance.objects.get(alert=alert)
        assert clearance.cleared_by == prescriber
        prescriber.role = Role.NURSE  # a later change of role does not undo the clearance
        prescriber.save()
        assert links.suicide_risk_blocks(session.patient) == []


# ---- F. clearing is once, on an unsigned session ---------------------------------------------------------------

def test_a_suicide_risk_alert_is_cleared_only_once():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False):
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        alert = _suicide_alert(session, nurse)
        services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alert.pk, action="paged")
        alert.refresh_from_db()
        services.suicide_risk_clear(actor=prescriber, session=session, alert=alert, note="assessed, fit to dose")
        with pytest.raises(services.AlreadyCleared):
            services.suicide_risk_clear(actor=prescriber, session=session, alert=alert, note="again")
    assert SuicideRiskClearance.objects.filter(alert=alert).count() == 1


def test_a_signed_session_cannot_clear_a_suicide_risk_alert():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, traveller=traveller)
        services.session_sign(actor=nurse, session=session, text="uneventful")
        alert = links.raise_alert(patient=session.patient, code="cssrs.high_risk", severity="high",
                                  message="high risk", source_type="test", source_id=1)
        services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alert.pk, action="paged")
        alert.refresh_from_db()
        with pytest.raises(SessionLocked):
            services.suicide_risk_clear(actor=prescriber, session=session, alert=alert, note="assessed")


# ---- C. discharge criteria ---------------------------------------------------------------------------------------

def test_discharge_criteria_are_not_accepted_while_monitoring():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="monitoring", traveller=traveller)
        criteria = list(sel.session_protocol(session).discharge_criteria)
        with pytest.raises(services.SessionStateConflict):
            services.discharge_criteria_record(actor=nurse, session=session, criteria=criteria)


def test_an_alerting_reading_after_the_criteria_voids_them_until_confirmed_again():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="observation", traveller=traveller)
        traveller.shift(dt.timedelta(minutes=130))
        services.vitals_record(actor=nurse, session=session, **BASELINE)
        criteria = list(sel.session_protocol(session).discharge_criteria)
        services.discharge_criteria_record(actor=nurse, session=session, criteria=criteria)
        traveller.shift(dt.timedelta(minutes=1))
        _, alerts = services.vitals_record(actor=nurse, session=session, spo2_pct=91)
        assert alerts and all(a.severity not in links.CRITICAL_SEVERITIES for a in alerts)
        with pytest.raises(TransitionRefused) as exc:
            services.session_transition(actor=nurse, session=session, to="ready_for_discharge")
        assert "discharge.criteria_void" in [r.code for r in exc.value.refusals]
        assert "confirm the criteria again" in str(exc.value)
        traveller.shift(dt.timedelta(minutes=5))
        services.vitals_record(actor=nurse, session=session, **BASELINE)
        services.discharge_criteria_record(actor=nurse, session=session, criteria=criteria)
        services.session_transition(actor=nurse, session=session, to="ready_for_discharge")


# ---- D. later devices re-checked ---------------------------------------------------------------------------------

@pytest.fixture
def first_device_given():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="pre_dose")
        services.session_transition(actor=nurse, session=session, to="dosing")
        assert session.dose_orders.last().device_count >= 2
        services.dose_administer(actor=nurse, session=session, lot_number="LOT-1")
        traveller.shift(dt.timedelta(minutes=5))
        yield session, nurse, prescriber


def test_no_further_device_while_an_emergency_alert_is_open(first_device_given):
    session, nurse, _ = first_device_given
    _, alerts = services.vitals_record(actor=nurse, session=session, spo2_pct=87)
    emergency = [a for a in alerts if a.severity == "emergency"]
    assert emergency
    with pytest.raises(services.DosingBlocked, match="emergency alert"):
        services.dose_administer(actor=nurse, session=session, lot_number="LOT-1")
    for alert in emergency:
        services.session_alert_acknowledge(actor=nurse, session=session, alert_id=alert.pk,
                                           action="airway repositioned, SpO2 back to 97%")
    assert services.dose_administer(actor=nurse, session=session, lot_number="LOT-1").device_number == 2


def test_no_further_device_while_a_suicide_risk_alert_blocks(first_device_given):
    session, nurse, prescriber = first_device_given
    alert = _suicide_alert(session, nurse)
    with pytest.raises(services.DosingBlocked, match="suicide-risk"):
        services.dose_administer(actor=nurse, session=session, lot_number="LOT-1")
    services.session_alert_acknowledge(actor=prescriber, session=session, alert_id=alert.pk,
                                       action="assessed: no intent, fit to continue")
    assert services.dose_administer(actor=nurse, session=session, lot_number="LOT-1").device_number == 2


# ---- E. reads are audited ----------------------------------------------------------------------------------------

def _events(action, actor):
    return list(AuditEvent.objects.filter(action=action, actor=actor))


def test_course_page_and_api_reads_are_audited(client):
    nurse, prescriber = staff()
    course = started_course(prescriber=prescriber)
    client.force_login(nurse)
    assert client.get(f"/treatment/courses/{course.pk}/").status_code == 200
    headers = {"Authorization": f"Bearer {token_create(user=nurse)}"}
    assert client.get(f"/api/v1/patients/{course.patient_id}/courses", headers=headers).status_code == 200
    assert client.get(f"/api/v1/courses/{course.pk}", headers=headers).status_code == 200
    viewed = _events(AuditAction.PATIENT_VIEWED, nurse)
    assert sorted(e.data["via"] for e in viewed) == ["api_course", "api_courses", "course_detail"]
    assert {e.patient_id for e in viewed} == {course.patient_id}


def test_board_first_load_and_rems_board_are_audited_but_polls_are_not(client):
    nurse, prescriber = staff()
    started_course(prescriber=prescriber)
    client.force_login(nurse)
    assert client.get("/treatment/board/").status_code == 200
    client.get("/treatment/board/", headers={"HX-Request": "true", "HX-Target": "board-rows",
                                             "X-KetaCare-Poll": "1"})
    assert client.get("/treatment/rems/").status_code == 200
    listed = _events(AuditAction.PATIENTS_LISTED, nurse)
    assert sorted(e.data["via"] for e in listed) == ["rems_board", "treatment_board"]
