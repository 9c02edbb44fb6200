"""Pages: happy paths, a denied role, another clinic, the htmx partials (board rows, session status, vitals panel
with its alerts swapped in at once, vitals from the board), and the course/protocol forms."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.screening.tests.factories import clear_for_route
from ketacare.treatment import services
from ketacare.treatment.models import Course, DoseOrder, ProtocolSetting, VitalsReading
from ketacare.treatment.tests.factories import staff, started_course, walk
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def team():
    return staff()


@pytest.fixture
def session(team):
    nurse, prescriber = team
    return started_course(prescriber=prescriber).sessions.first()


def test_board_lists_todays_patients_with_their_state(client, team, session):
    nurse, prescriber = team
    services.session_transition(actor=nurse, session=session, to="checked_in", room="4B")
    client.force_login(nurse)
    response = client.get("/treatment/board/")
    html = response.content.decode()
    assert response.status_code == 200
    assert session.patient.family_name in html and "4B" in html and "Checked in" in html
    assert 'hx-trigger="every 15s, board-refresh from:body"' in html
    assert '"X-KetaCare-Poll": "1"' in html  # polling does not keep an idle screen signed in


def test_board_rows_partial_for_the_poll(client, team, session):
    client.force_login(team[0])
    response = client.get("/treatment/board/", headers={**HTMX, "HX-Target": "board-rows", "X-KetaCare-Poll": "1"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="board-rows"') and "<html" not in html


def test_board_hides_other_clinics(client, team, session):
    outsider = UserFactory(role=Role.NURSE, clinic=ClinicFactory())
    client.force_login(outsider)
    assert session.patient.family_name not in client.get("/treatment/board/").content.decode()


def test_board_query_count_does_not_grow_with_patients(client, team, django_assert_max_num_queries):
    nurse, prescriber = team
    for _ in range(4):
        s = started_course(prescriber=prescriber).sessions.first()
        services.session_transition(actor=nurse, session=s, to="checked_in")
    client.force_login(nurse)
    with django_assert_max_num_queries(60):
        client.get("/treatment/board/", headers={**HTMX, "HX-Target": "board-rows"})


def test_nurse_records_vitals_from_the_board(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    client.force_login(nurse)
    form = client.get(f"/treatment/board/sessions/{session.pk}/vitals/", headers=HTMX).content.decode()
    assert "Systolic" in form and "<html" not in form
    response = client.post(f"/treatment/board/sessions/{session.pk}/vitals/",
                           {"systolic_mmhg": "210", "diastolic_mmhg": "100", "heart_rate_bpm": "88"}, headers=HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "board-refresh"
    assert "Vitals saved" in response.content.decode() and "above 200/120" in response.content.decode()
    bad = client.post(f"/treatment/board/sessions/{session.pk}/vitals/", {"systolic_mmhg": "400"}, headers=HTMX)
    assert bad.status_code == 200 and "Nothing was saved" in bad.content.decode()
    assert VitalsReading.objects.count() == 1


def test_session_page_shows_the_pre_dose_checklist(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    client.force_login(nurse)
    html = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert "Before dosing:" in html and "no pre-dose vitals recorded" in html and "escort / ride home" in html
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_VIEWED, actor=nurse).count() == 1


def test_status_strip_poll_is_a_partial_and_not_audited(client, team, session):
    client.force_login(team[0])
    response = client.get(f"/treatment/sessions/{session.pk}/",
                          headers={**HTMX, "HX-Target": "session-status", "X-KetaCare-Poll": "1"})
    assert response.content.decode().lstrip().startswith('<section id="session-status"')
    assert not AuditEvent.objects.filter(action=AuditAction.SESSION_VIEWED).exists()


def test_vitals_from_the_session_page_return_the_panel_and_the_alerts_at_once(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    client.force_login(nurse)
    response = client.post(f"/treatment/sessions/{session.pk}/vitals/",
                           {"systolic_mmhg": "205", "diastolic_mmhg": "100"}, headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="vitals-panel"')
    assert 'id="alerts"' in html and 'hx-swap-oob="true"' in html and "above 200/120" in html


def test_vitals_form_errors_keep_nothing(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    client.force_login(nurse)
    response = client.post(f"/treatment/sessions/{session.pk}/vitals/", {"systolic_mmhg": "120"})
    assert response.status_code == 422 and "Enter both systolic and diastolic" in response.content.decode()
    assert not VitalsReading.objects.exists()


def test_a_refused_adverse_event_resolution_shows_why(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    # Onset typed a minute ahead (within the clock tolerance): "resolved now" would be before it.
    event = services.adverse_event_record(actor=nurse, session=session, description="nausea", severity="mild",
                                          onset_at=T0 + dt.timedelta(minutes=1))
    client.force_login(nurse)
    response = client.post(f"/treatment/adverse-events/{event.pk}/resolve/", {"action_taken": "antiemetic"})
    assert response.status_code == 422 and "Resolution cannot be before onset." in response.content.decode()
    event.refresh_from_db()
    assert event.resolved_at is None


def test_another_clinic_cannot_resolve_an_adverse_event(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    event = services.adverse_event_record(actor=nurse, session=session, description="nausea", severity="mild",
                                          onset_at=T0)
    client.force_login(UserFactory(role=Role.NURSE, clinic=ClinicFactory()))
    assert client.post(f"/treatment/adverse-events/{event.pk}/resolve/", {"action_taken": "x"}).status_code == 404
    event.refresh_from_db()
    assert event.resolved_at is None


def test_therapist_sees_but_cannot_order_a_dose(client, team, session):
    therapist = UserFactory(role=Role.THERAPIST, clinic=session.clinic)
    client.force_login(therapist)
    assert client.get(f"/treatment/sessions/{session.pk}/").status_code == 200
    assert client.post(f"/treatment/sessions/{session.pk}/dose-order/", {"dose_mg": "56"}).status_code == 403
    assert not DoseOrder.objects.exists()


def test_other_clinic_gets_404(client, session):
    client.force_login(UserFactory(role=Role.NURSE, clinic=ClinicFactory()))
    assert client.get(f"/treatment/sessions/{session.pk}/").status_code == 404
    assert client.get(f"/treatment/courses/{session.course_id}/").status_code == 404
    assert client.post(f"/treatment/sessions/{session.pk}/vitals/", {"heart_rate_bpm": "80"}).status_code == 404


def test_refused_transition_shows_every_reason(client, team, session):
    nurse, _ = team
    client.force_login(nurse)
    client.post(f"/treatment/sessions/{session.pk}/transition/", {"to": "checked_in", "room": "2"})
    client.post(f"/treatment/sessions/{session.pk}/transition/", {"to": "pre_dose"})
    response = client.post(f"/treatment/sessions/{session.pk}/transition/", {"to": "dosing"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not now:" in html and "no dose ordered" in html and "patient not enrolled in the REMS" in html


def test_prescriber_orders_with_an_override_from_the_page(client, team, session):
    nurse, prescriber = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    client.force_login(prescriber)
    response = client.post(f"/treatment/sessions/{session.pk}/dose-order/", {"dose_mg": "84"})
    assert response.status_code == 409 and "give an override reason" in response.content.decode()
    response = client.post(f"/treatment/sessions/{session.pk}/dose-order/",
                           {"dose_mg": "84", "override_reason": "tolerated 84 mg elsewhere"})
    assert response.status_code == 302 and DoseOrder.objects.get().dose_mg == Decimal(84)
    html = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert "Outside protocol, overridden" in html and "dose: 84 mg = 3 x 28 mg devices" in html


def test_session_measure_page_records_a_questionnaire_for_the_session(client, team, session):
    nurse, _ = team
    services.session_transition(actor=nurse, session=session, to="checked_in")
    client.force_login(nurse)
    page = client.get(f"/treatment/sessions/{session.pk}/measure/?instrument=phq-9")
    assert page.status_code == 200 and "PHQ-9" in page.content.decode()
    data = {f"item_{n}": "LA6568-5" for n in range(9)}
    data.update({"instrument": "phq-9", "answered_at": "2026-03-02T09:05", "mode": "self_report",
                 "allow_incomplete": "on"})
    response = client.post(f"/treatment/sessions/{session.pk}/measure/", data)
    assert response.status_code == 302
    assert session.measures.get().instrument_key == "phq-9"


def test_course_form_refuses_an_uncleared_patient_with_the_reasons(client, team):
    nurse, prescriber = team
    patient = PatientFactory(clinic=prescriber.clinic)
    client.force_login(prescriber)
    assert client.get(f"/treatment/patients/{patient.pk}/courses/new/").status_code == 200
    response = client.post(f"/treatment/patients/{patient.pk}/courses/new/",
                           {"protocol": "esketamine-trd@1", "start_on": "2026-03-02", "open_ended_cycles": "0"})
    assert response.status_code == 409
    assert "No signed eligibility approval for Esketamine nasal spray" in response.content.decode()
    assert not Course.objects.exists()
    clear_for_route(patient, "esketamine")
    response = client.post(f"/treatment/patients/{patient.pk}/courses/new/",
                           {"protocol": "esketamine-trd@1", "start_on": "2026-03-02", "open_ended_cycles": "0"})
    assert response.status_code == 302 and Course.objects.get().sessions.count() == 12


def test_chart_panel_lists_courses_with_progress(client, team, session):
    client.force_login(team[0])
    html = client.get(f"/patients/{session.patient_id}/").content.decode()
    assert "Treatment courses" in html and "0 / 12" in html


def test_admin_configures_a_protocol_as_a_new_revision(client, team):
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=team[0].clinic)
    client.force_login(admin)
    page = client.get("/treatment/protocols/edit/?protocol=esketamine-trd@1")
    assert page.status_code == 200 and "Shipped default: 120" in page.content.decode()
    form = page.context["form"]
    data = {name: ("on" if value is True else "" if value is False else value)
            for name, value in ((n, f.initial) for n, f in form.fields.items())}
    data.update({"protocol": "esketamine-trd@1", "thresholds__spo2_alert_below_pct": "94", "reason": "MD memo 12"})
    data = {k: v for k, v in data.items() if v not in ("", None)}
    response = client.post("/treatment/protocols/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ProtocolSetting.objects.get().overrides == {"thresholds": {"spo2_alert_below_pct": 94}}
    data["observation_minimum_minutes"] = "60"
    response = client.post("/treatment/protocols/edit/", data)
    assert response.status_code == 422 and "below the floor" in response.content.decode()
    assert ProtocolSetting.objects.count() == 1
    assert client.get("/treatment/protocols/").status_code == 200


def test_nurse_cannot_configure_protocols(client, team):
    client.force_login(team[0])
    assert client.get("/treatment/protocols/").status_code == 403


def test_full_esketamine_walk_renders_on_every_page(client, team, _clock):
    nurse, prescriber = team
    session = started_course(prescriber=prescriber).sessions.first()
    walk(session, nurse=nurse, prescriber=prescriber, traveller=_clock)
    client.force_login(nurse)
    html = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert "Discharged at" in html and "REMS Patient Monitoring Form" in html and "Sign and lock" in html
    assert client.get(f"/treatment/courses/{session.course_id}/").status_code == 200
    assert client.get(f"/treatment/rems/forms/{session.rems_form.pk}/").status_code == 200


def _phq9(patient, actor, on, level):
    """A PHQ-9 with every item at `level` (0-3): total 9 x level."""
    from ketacare.instruments.services import response_record
    from ketacare.screening.tests.factories import PHQ9_CODES, PHQ9_ITEMS

    return response_record(patient=patient, actor=actor, instrument_key="phq-9",
                           answers={link: PHQ9_CODES[level] for link in PHQ9_ITEMS},
                           answered_at=dt.datetime.combine(on, dt.time(10), tzinfo=dt.UTC), mode="self_report")


@pytest.mark.parametrize(("phase", "worse", "prompt"), [
    ("maintenance", True, True), ("maintenance", False, False), ("induction", True, False)])
def test_the_chart_prompts_the_prescriber_after_missed_maintenance_sessions_with_worsening_esketamine_3_3(
        client, team, phase, worse, prompt):
    """esketamine-and-rems.md §3.3: missed maintenance sessions with a worsening PHQ-9 prompt a return to the
    previous schedule on the patient's page; during induction the schedule simply continues."""
    from ketacare.treatment.tests.factories import CourseFactory, SessionFactory

    nurse, prescriber = team
    patient = PatientFactory(clinic=nurse.clinic)
    course = CourseFactory(patient=patient, created_by=prescriber, start_on=T0.date() - dt.timedelta(days=120))
    SessionFactory(course=course, number=1, phase=phase, planned_on=T0.date() - dt.timedelta(days=28),
                   state="discharged")
    SessionFactory(course=course, number=2, phase=phase, planned_on=T0.date() - dt.timedelta(days=14))  # missed
    _phq9(patient, nurse, T0.date() - dt.timedelta(days=28), 1)  # total 9
    _phq9(patient, nurse, T0.date() - dt.timedelta(days=1), 2 if worse else 1)  # 18 (worse) or 9
    client.force_login(prescriber)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert ("Prescriber: missed sessions with worsening symptoms" in html) is prompt
    assert "esketamine-and-rems.md §3.3" in html
    if prompt:
        assert "PHQ-9 9" in html and "previous, more frequent schedule (weekly)" in html
    if phase == "induction":
        assert "continue the current schedule" in html
