"""Courses: started only when the route is cleared, planned from the protocol, adjustable, ended with a reason."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.screening.tests.factories import (
    ApprovedDecisionFactory,
    DeclinedDecisionFactory,
    PatientConsentFactory,
)
from ketacare.treatment import services
from ketacare.treatment.models import Course, DosingSession, ProtocolSetting
from ketacare.treatment.tests.factories import started_course
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def prescriber():
    return UserFactory(role=Role.PRESCRIBER)


def test_course_without_approval_or_consent_is_refused_with_the_reasons_and_nothing_is_stored(prescriber):
    patient = PatientFactory(clinic=prescriber.clinic)
    with pytest.raises(services.CourseNotCleared) as exc:
        services.course_create(actor=prescriber, patient=patient, protocol_ref="esketamine-trd@1", start_on=MONDAY)
    assert exc.value.http_status == 409
    assert "No signed eligibility approval for Esketamine nasal spray" in exc.value.details["reasons"]
    assert "No consent to Esketamine nasal spray on file" in exc.value.details["reasons"]
    assert not Course.objects.exists() and not DosingSession.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.COURSE_CREATED).exists()


@pytest.mark.parametrize("missing", ["approval", "consent", "withdrawn", "declined"])
def test_each_missing_clearance_alone_blocks_the_course(prescriber, missing):
    patient = PatientFactory(clinic=prescriber.clinic)
    if missing == "declined":
        DeclinedDecisionFactory(patient=patient, route="esketamine")
    elif missing != "approval":
        ApprovedDecisionFactory(patient=patient, route="esketamine")
    if missing != "consent":
        PatientConsentFactory(patient=patient, route="esketamine", withdrawn=missing == "withdrawn")
    with pytest.raises(services.CourseNotCleared):
        services.course_create(actor=prescriber, patient=patient, protocol_ref="esketamine-trd@1", start_on=MONDAY)


def test_clearance_is_per_route(prescriber):
    patient = PatientFactory(clinic=prescriber.clinic)
    ApprovedDecisionFactory(patient=patient, route="iv-ketamine")
    PatientConsentFactory(patient=patient, route="iv-ketamine")
    with pytest.raises(services.CourseNotCleared):
        services.course_create(actor=prescriber, patient=patient, protocol_ref="esketamine-trd@1", start_on=MONDAY)
    assert services.course_create(actor=prescriber, patient=patient, protocol_ref="iv-ketamine-induction@1",
                                  start_on=MONDAY)


def test_esketamine_trd_course_is_planned_from_the_label_schedule(prescriber):
    course = started_course(prescriber=prescriber, start_on=MONDAY, open_ended_cycles=2)
    sessions = list(course.sessions.order_by("number"))
    # Weeks 1-4 twice weekly (8), weeks 5-8 weekly (4), then 2 maintenance sessions every 2 weeks.
    assert [s.phase for s in sessions].count("induction") == 8
    assert [s.phase for s in sessions].count("weeks 5-8") == 4
    assert [s.planned_on for s in sessions][:3] == [MONDAY, MONDAY + dt.timedelta(3), MONDAY + dt.timedelta(7)]
    assert sessions[-1].planned_on - sessions[-2].planned_on == dt.timedelta(14)
    assert all(s.state == "scheduled" and s.clinic_id == course.clinic_id for s in sessions)
    assert course.clearance["ok"] and course.clearance["decision_id"] and course.clearance["consent_id"]
    event = AuditEvent.objects.get(action=AuditAction.COURSE_CREATED)
    assert event.patient_id == course.patient_id and event.data["sessions"] == 14


def test_iv_induction_is_six_infusions_over_twelve_days(prescriber):
    course = started_course(protocol_ref="iv-ketamine-induction@1", prescriber=prescriber, start_on=MONDAY)
    days = [(s.planned_on - MONDAY).days for s in course.sessions.order_by("number")]
    assert days == [0, 2, 4, 7, 9, 11]


def test_psychotherapy_course_needs_no_drug_clearance(prescriber):
    patient = PatientFactory(clinic=prescriber.clinic)
    course = services.course_create(actor=prescriber, patient=patient, protocol_ref="psychotherapy-integration@1",
                                    start_on=MONDAY, open_ended_cycles=3)
    assert course.sessions.count() == 3 and course.route == "none"


def test_open_ended_protocol_needs_at_least_one_cycle(prescriber):
    patient = PatientFactory(clinic=prescriber.clinic)
    with pytest.raises(ValidationError) as exc:
        services.course_create(actor=prescriber, patient=patient, protocol_ref="psychotherapy-integration@1",
                               start_on=MONDAY)
    assert "open_ended_cycles" in exc.value.message_dict


def test_only_a_prescriber_starts_a_course():
    nurse = UserFactory(role=Role.NURSE)
    with pytest.raises(PermissionDenied):
        services.course_create(actor=nurse, patient=PatientFactory(clinic=nurse.clinic),
                               protocol_ref="esketamine-trd@1", start_on=MONDAY)


def test_reschedule_moves_one_session_or_shifts_the_rest(prescriber):
    course = started_course(prescriber=prescriber, start_on=MONDAY)
    second = course.sessions.get(number=2)
    services.course_reschedule(actor=prescriber, session=second, new_on=MONDAY + dt.timedelta(2))
    assert course.sessions.get(number=2).planned_on == MONDAY + dt.timedelta(2)
    assert course.sessions.get(number=3).planned_on == MONDAY + dt.timedelta(7)
    services.course_reschedule(actor=prescriber, session=second, new_on=MONDAY + dt.timedelta(4),
                               shift_following=True)
    assert course.sessions.get(number=3).planned_on == MONDAY + dt.timedelta(9)
    with pytest.raises(ValidationError, match="clash"):
        services.course_reschedule(actor=prescriber, session=second, new_on=MONDAY)
    assert AuditEvent.objects.filter(action=AuditAction.COURSE_RESCHEDULED).count() == 2


def test_stopping_a_course_cancels_what_is_left_with_the_reason(prescriber):
    course = started_course(prescriber=prescriber, start_on=MONDAY)
    services.course_end(actor=prescriber, course=course, status="stopped", reason="patient moved away")
    course.refresh_from_db()
    assert course.status == "stopped" and course.end_reason == "patient moved away"
    assert set(course.sessions.values_list("state", flat=True)) == {"cancelled"}
    assert all(s.transitions.get().by == prescriber for s in course.sessions.all())


def test_course_pins_the_clinic_protocol_revision_in_force(prescriber):
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=prescriber.clinic)
    setting = services.protocol_configure(actor=admin, protocol_ref="esketamine-trd@1", reason="MD decision 3/1",
                                          overrides={"observation_minimum_minutes": 150})
    course = started_course(prescriber=prescriber, start_on=MONDAY)
    assert course.protocol_setting == setting
    assert ProtocolSetting.objects.get().overrides == {"observation_minimum_minutes": 150}


def test_an_mdsi_course_needs_a_current_oral_antidepressant_esketamine_2_3_2(prescriber):
    """esketamine-and-rems.md §2, §3.2: the MDSI protocol is refused until the medication list shows an oral
    antidepressant; TRD (monotherapy allowed) is not affected."""
    from ketacare.screening.models import Medication
    from ketacare.screening.tests.factories import CompleteIntakeFactory

    patient = PatientFactory(clinic=prescriber.clinic)
    intake = CompleteIntakeFactory(patient=patient)
    with pytest.raises(services.CourseNotCleared) as refused:
        started_course(protocol_ref="esketamine-mdsi@1", patient=patient, prescriber=prescriber)
    assert "oral antidepressant" in str(refused.value) and "§2, §3.2" in str(refused.value)
    assert not Course.objects.exists()
    Medication.objects.create(clinic=patient.clinic, intake=intake, name="sertraline", is_oral_antidepressant=True)
    course = services.course_create(actor=prescriber, patient=patient, protocol_ref="esketamine-mdsi@1",
                                    start_on=MONDAY)
    assert course.protocol_ref.startswith("esketamine-mdsi")
    other = PatientFactory(clinic=prescriber.clinic)
    CompleteIntakeFactory(patient=other)
    assert started_course(protocol_ref="esketamine-trd@1", patient=other, prescriber=prescriber).pk
