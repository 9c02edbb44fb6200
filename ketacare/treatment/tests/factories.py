"""Factories and helpers for treatment tests (fake names only), reusing tests.factories and the screening and
instruments apps' factories. `walk` drives a real session through the services, step by step."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.screening.tests.factories import clear_for_route
from ketacare.treatment import selectors, services
from ketacare.treatment.choices import SessionState
from ketacare.treatment.models import Course, DosingSession
from tests.factories import ClinicFactory, PatientFactory, UserFactory

PHQ9_NONE = {link: "LA6568-5" for link in ("/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2",
                                           "/44252-5", "/44253-3", "/44260-8")}
PHQ9_ITEM9_POSITIVE = {**PHQ9_NONE, "/44260-8": "LA6570-1"}
GAD7_NONE = {link: "LA6568-5" for link in ("/69725-0", "/68509-9", "/69733-4", "/69734-2", "/69735-9", "/69689-8",
                                           "/69736-7")}
CSSRS_NEGATIVE = {"1": "no", "2": "no", "6": "no"}
CSSRS_HIGH = {"1": "yes", "2": "yes", "3": "yes", "4": "yes", "5": "no", "6": "no"}
NEGATIVE_ANSWERS = {"phq-9": PHQ9_NONE, "gad-7": GAD7_NONE, "cssrs-screen": CSSRS_NEGATIVE, "vas-anxiety": {"vas": 60},
                    "mini-spin": {"1": "2", "2": "2", "3": "2"}}
CLEARANCE_ROUTE = {"intranasal": "esketamine", "iv": "iv-ketamine"}
BASELINE = {"systolic_mmhg": 128, "diastolic_mmhg": 82, "heart_rate_bpm": 72, "spo2_pct": 98, "resp_rate_per_min": 14}


class CourseFactory(factory.django.DjangoModelFactory):
    """A course row written directly (no clearance check, no generated sessions): for selector and view tests."""

    class Meta:
        model = Course

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    protocol_ref = "esketamine-trd@1"
    route = "intranasal"
    start_on = factory.LazyFunction(lambda: timezone.localdate())
    created_by = factory.SubFactory(UserFactory, role=Role.PRESCRIBER, clinic=factory.SelfAttribute("..clinic"))
    created_at = factory.LazyFunction(timezone.now)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DosingSession

    course = factory.SubFactory(CourseFactory)
    patient = factory.SelfAttribute("course.patient")
    clinic = factory.SelfAttribute("course.clinic")
    number = factory.Sequence(lambda n: n + 1)
    phase = "induction"
    planned_on = factory.LazyFunction(lambda: timezone.localdate())
    created_at = factory.LazyFunction(timezone.now)


def staff(clinic=None):
    """A nurse and a prescriber of one clinic."""
    clinic = clinic or ClinicFactory()
    return (UserFactory(role=Role.NURSE, clinic=clinic, first_name="Noah", last_name="Okafor"),
            UserFactory(role=Role.PRESCRIBER, clinic=clinic, first_name="Priya", last_name="Raman"))


def started_course(*, protocol_ref="esketamine-trd@1", patient=None, prescriber=None, start_on=None, **kwargs):
    """A course started through the service, with the route cleared first."""
    clinic = patient.clinic if patient else ClinicFactory()
    prescriber = prescriber or UserFactory(role=Role.PRESCRIBER, clinic=clinic)
    patient = patient or PatientFactory(clinic=prescriber.clinic)
    route = "none" if protocol_ref.startswith("psychotherapy") else (
        "iv" if protocol_ref.startswith("iv") else "intranasal")
    if route != "none":
        clear_for_route(patient, CLEARANCE_ROUTE[route])
    return services.course_create(actor=prescriber, patient=patient, protocol_ref=protocol_ref,
                                  start_on=start_on or timezone.localdate(), **kwargs)


ORDER = [SessionState.CHECKED_IN, SessionState.PRE_DOSE, SessionState.DOSING, SessionState.MONITORING,
         SessionState.OBSERVATION, SessionState.READY_FOR_DISCHARGE, SessionState.DISCHARGED]


def walk(session, *, nurse, prescriber, until=SessionState.DISCHARGED, traveller=None, dose_mg=None,
         baseline=None, weight_kg=Decimal(80)):
    """Drive `session` through the real services up to `until`. Esketamine devices are 5 min apart; the observation
    clock is passed with `traveller` (a time_machine traveller) when the walk goes beyond observation."""
    protocol_ref = session.course.protocol_ref
    iv = protocol_ref.startswith("iv")
    session.refresh_from_db()
    start = ORDER.index(SessionState(session.state)) + 1 if session.state in ORDER else 0
    for target in ORDER[start:]:
        session.refresh_from_db()
        if ORDER.index(target) > ORDER.index(SessionState(until)):
            break
        if target == SessionState.CHECKED_IN:
            services.session_transition(actor=nurse, session=session, to=target, room="3")
        elif target == SessionState.PRE_DOSE:
            services.session_transition(actor=nurse, session=session, to=target)
            services.vitals_record(actor=nurse, session=session, **(baseline or BASELINE))
            fields = {"pregnancy_check": "negative", "escort_confirmed": True, "escort_name": "a friend",
                      "benzodiazepines": False, "non_benzodiazepine_sedative_hypnotics": False,
                      "psychostimulants": False, "maois": False}
            if iv:
                fields.update(actual_weight_kg=weight_kg, weight_basis="actual")
            services.predose_record(actor=nurse, session=session, **fields)
            for key in sorted(selectors.session_protocol(session).pre_dose_questionnaires()):
                services.session_measure_record(actor=nurse, session=session, instrument_key=key,
                                                answers=NEGATIVE_ANSWERS[key], answered_at=timezone.now(),
                                                mode="self_report")
            if not iv and not selectors.rems_enrolled(session.patient):
                services.rems_enrollment_record(actor=nurse, patient=session.patient,
                                                enrolled_on=timezone.localdate())
            if iv:
                services.dose_order(actor=prescriber, session=session, concentration_mg_per_ml=Decimal(10))
            else:
                services.dose_order(actor=prescriber, session=session, dose_mg=dose_mg)
        elif target == SessionState.DOSING:
            services.session_transition(actor=nurse, session=session, to=target)
            order = session.dose_orders.last()
            if iv:
                services.dose_administer(actor=nurse, session=session, lot_number="LOT-IV-1")
                _advance(traveller, dt.timedelta(minutes=40))
                services.infusion_end(actor=nurse, session=session)
            else:
                for n in range(order.device_count):
                    if n:
                        _advance(traveller, dt.timedelta(minutes=5))
                    services.dose_administer(actor=nurse, session=session, lot_number="LOT-ESK-1",
                                             given_at=None if traveller else timezone.now()
                                             + dt.timedelta(seconds=n),
                                             # without a clock to move, later devices are early: confirmed
                                             early_reason="" if traveller or not n else "test walk, no clock")
        elif target == SessionState.MONITORING:
            services.session_transition(actor=nurse, session=session, to=target)
        elif target == SessionState.OBSERVATION:
            services.session_transition(actor=nurse, session=session, to=target)
        elif target == SessionState.READY_FOR_DISCHARGE:
            protocol = selectors.session_protocol(session)
            _advance(traveller, dt.timedelta(minutes=protocol.observation_minimum_minutes))
            services.vitals_record(actor=nurse, session=session, **BASELINE)
            services.discharge_criteria_record(actor=nurse, session=session,
                                               criteria=list(protocol.discharge_criteria),
                                               ready_to_leave_minutes=90)
            services.session_transition(actor=nurse, session=session, to=target)
        elif target == SessionState.DISCHARGED:
            services.session_transition(actor=nurse, session=session, to=target)
    session.refresh_from_db()
    return session


def _advance(traveller, delta):
    if traveller is not None:
        traveller.shift(delta)
