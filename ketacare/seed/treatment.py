"""Demo data for the treatment app (synthetic): courses at every stage and a live day on the floor board.

Uses the demo patients the screening seeder cleared (RKC-000001 IV ketamine, RKC-000002 esketamine, RKC-000003 both)
and psychotherapy/integration courses (no drug, no clearance) for RKC-000008 to RKC-000011. Everything is recorded
through the services with the clock set to when it happened, so audit rows, alerts and REMS forms are real.
Idempotent: nothing is done when the clinic already has a course.

Today's board: an esketamine session in observation with an open BP alert, an IV infusion running, an esketamine
patient in the pre-dose assessment, a therapy session checked in, one scheduled and one already discharged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ketacare.core import clock
from ketacare.patients.models import Patient
from ketacare.treatment import selectors, services
from ketacare.treatment.models import Course

PHQ9 = ("/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3", "/44260-8")
PHQ9_CODES = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
GAD7 = ("/69725-0", "/68509-9", "/69733-4", "/69734-2", "/69735-9", "/69689-8", "/69736-7")
CSSRS_NONE = {"1": "no", "2": "no", "6": "no"}
NORMAL = {"systolic_mmhg": 126, "diastolic_mmhg": 80, "heart_rate_bpm": 72, "spo2_pct": 98, "resp_rate_per_min": 14}


@contextlib.contextmanager
def _as_of(moment: dt.datetime):
    """Record as if at `moment`: every service reads the time from `clock`."""
    real_now, real_today = clock.now, clock.today
    clock.now = lambda: moment
    clock.today = lambda: timezone.localdate(moment)
    try:
        yield
    finally:
        clock.now, clock.today = real_now, real_today


def _answers(keys, level: int, item9: int = 0, *, codes=PHQ9_CODES) -> dict:
    out = {k: codes[min(level, 3)] for k in keys}
    if "/44260-8" in out:
        out["/44260-8"] = codes[item9]
    return out


class _Day:
    """One session's timeline: `at(minutes)` is relative to the check-in."""

    def __init__(self, session, nurse, prescriber, start: dt.datetime, level: int):
        self.s, self.nurse, self.prescriber, self.start, self.level = session, nurse, prescriber, start, level

    def at(self, minutes: float):
        return _as_of(self.start + dt.timedelta(minutes=minutes))

    def refresh(self):
        self.s.refresh_from_db()
        return self.s

    def check_in(self, room: str):
        with self.at(0):
            services.session_transition(actor=self.nurse, session=self.s, to="checked_in", room=room)

    def pre_dose(self, *, weight=None, baseline=NORMAL, questionnaires=True):
        nurse, s = self.nurse, self.s
        protocol = selectors.session_protocol(s)
        with self.at(3):
            services.session_transition(actor=nurse, session=s, to="pre_dose")
            services.vitals_record(actor=nurse, session=s, **baseline)
        with self.at(6):
            fields = {"pregnancy_check": "negative", "escort_confirmed": True, "escort_name": "partner",
                      "benzodiazepines": False, "non_benzodiazepine_sedative_hypnotics": False,
                      "psychostimulants": False, "maois": False, "opioids": False}
            if weight is not None:
                fields.update(actual_weight_kg=weight, weight_basis="actual")
            services.predose_record(actor=nurse, session=s, **fields)
            if protocol.rems_enrollment_required and not selectors.rems_enrolled(s.patient):
                services.rems_enrollment_record(actor=nurse, patient=s.patient, enrolled_on=clock.today())
        if not questionnaires:
            return
        with self.at(9):
            for key in sorted(protocol.pre_dose_questionnaires()):
                answers = {"phq-9": _answers(PHQ9, self.level), "gad-7": _answers(GAD7, self.level),
                           "cssrs-screen": CSSRS_NONE, "vas-anxiety": {"vas": 30 + 12 * self.level}}[key]
                services.session_measure_record(actor=nurse, session=s, instrument_key=key, answers=answers,
                                                answered_at=clock.now(), mode="self_report")

    def order(self):
        with self.at(12):
            if self.s.course.route == "iv":
                services.dose_order(actor=self.prescriber, session=self.s, concentration_mg_per_ml=Decimal(10))
            else:
                services.dose_order(actor=self.prescriber, session=self.s)

    def dose(self, lot: str):
        nurse, s = self.nurse, self.s
        with self.at(15):
            services.session_transition(actor=nurse, session=s, to="dosing")
            services.dose_administer(actor=nurse, session=s, lot_number=lot)
        order = selectors.current_order(s)
        assert order is not None, "an administered session has a dose order"
        if order.device_count:
            for n in range(1, order.device_count):
                with self.at(15 + 5 * n):
                    services.dose_administer(actor=nurse, session=s, lot_number=lot)

    def end_infusion(self):
        with self.at(15 + 40):
            services.infusion_end(actor=self.nurse, session=self.s)

    def monitor(self):
        minutes = 15 + 5 * ((selectors.current_order(self.s).device_count or 1) - 1)
        if self.s.course.route == "iv":
            minutes = 15 + 40
        with self.at(minutes):
            services.session_transition(actor=self.nurse, session=self.s, to="monitoring")

    def vitals(self, after_dose: int, **values):
        with self.at(15 + after_dose):
            return services.vitals_record(actor=self.nurse, session=self.s, **{**NORMAL, **values})

    def observe(self, after_dose: int):
        with self.at(15 + after_dose):
            services.session_transition(actor=self.nurse, session=self.s, to="observation")

    def discharge(self, *, note: str, post_vas: bool = False):
        nurse, s = self.nurse, self.refresh()
        protocol = selectors.session_protocol(s)
        end = 15 + protocol.observation_minimum_minutes + 5
        if post_vas:
            with self.at(15 + 120):
                services.session_measure_record(actor=nurse, session=s, instrument_key="vas-anxiety",
                                                answers={"vas": 12 + 6 * self.level}, answered_at=clock.now(),
                                                mode="self_report", offset_hours=2)
        with self.at(end):
            services.discharge_criteria_record(actor=nurse, session=s, criteria=list(protocol.discharge_criteria),
                                               ready_to_leave_minutes=90 if s.course.route == "intranasal" else None)
            services.session_transition(actor=nurse, session=s, to="ready_for_discharge")
            services.session_transition(actor=nurse, session=s, to="discharged")
        with self.at(end + 10):
            services.session_sign(actor=nurse, session=s, text=note)


def _complete(day: _Day, *, lot: str, weight=None, note: str, bp_peak=(148, 90)) -> None:
    day.check_in("2")
    day.pre_dose(weight=weight)
    day.order()
    day.dose(lot)
    if day.s.course.route == "iv":
        day.vitals(10)
        day.vitals(20)
        day.vitals(30)
        day.vitals(40, systolic_mmhg=bp_peak[0], diastolic_mmhg=bp_peak[1])
        day.end_infusion()
        day.monitor()
        for m in (55, 70, 85, 100, 115):
            day.vitals(m)
        day.observe(116)
    else:
        day.monitor()
        day.vitals(15, moaas=4)
        day.vitals(40, systolic_mmhg=bp_peak[0], diastolic_mmhg=bp_peak[1], moaas=4, cadss_total=4)
        day.vitals(60, moaas=5, cadss_total=1)
        day.observe(61)
        day.vitals(90, moaas=5)
        day.vitals(120, moaas=5)
    day.discharge(note=note, post_vas=day.s.course.route == "iv")


def _patient(clinic, number: int) -> Patient | None:
    return Patient.objects.filter(clinic=clinic, mrn=f"{clinic.code.upper()}-{number:06d}").first()


def _morning(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@transaction.atomic
def seed_treatment(clinic, users, today) -> None:
    if Course.objects.filter(clinic=clinic).exists():
        return
    nurse, prescriber, admin = users["nurse"], users["prescriber"], users["admin"]
    now = clock.now().replace(second=0, microsecond=0)
    with _as_of(now - dt.timedelta(days=90)):
        services.rems_configure(actor=admin, reason="REMS set-up by the compliance owner (demo)",
                                setting_name=clinic.name, address_1="100 Riverside Avenue", city="Boston",
                                state="MA", zip_code="02115", telephone="+1 617 555 0100")

    iv_patient, esk_patient, both = _patient(clinic, 1), _patient(clinic, 2), _patient(clinic, 3)

    # RKC-000003: an IV induction series finished 6 weeks ago (completed course) ...
    if both is not None:
        with _as_of(now - dt.timedelta(days=50)):
            course = services.course_create(actor=prescriber, patient=both, protocol_ref="iv-ketamine-induction@1",
                                            start_on=clock.today())
        for n, session in enumerate(course.sessions.order_by("number")):
            day = _Day(session, nurse, prescriber, _morning(session.planned_on, 9), level=max(3 - n // 2, 1))
            _complete(day, lot=f"KET-24{n:02d}", weight=Decimal("72.5"),
                      note=f"Infusion {n + 1} of 6 at 0.5 mg/kg, well tolerated; mild dissociation resolved by 60 min.")
        # ... then esketamine from two weeks ago: four sessions done, the fifth today (in the pre-dose assessment).
        with _as_of(now - dt.timedelta(days=14)):
            course = services.course_create(actor=prescriber, patient=both, protocol_ref="esketamine-trd@1",
                                            start_on=clock.today())
        sessions = list(course.sessions.order_by("number"))
        for n, session in enumerate(sessions[:4]):
            _complete(_Day(session, nurse, prescriber, _morning(session.planned_on, 10), level=2),
                      lot="JK45R21", note="56 mg, 2 devices. Mild dissociation at 40 min; resolved. Ride home.")
            form = session.rems_form
            if n == 1:
                with _as_of(_morning(session.planned_on, 16)):
                    services.pmf_submit(actor=nurse, form=form, reference=f"PMF-{form.pk:05d}")
        today_session = next((s for s in sessions if s.planned_on == today), None)
        if today_session is not None:
            day = _Day(today_session, nurse, prescriber, now - dt.timedelta(minutes=8), level=1)
            day.check_in("4")
            day.pre_dose(questionnaires=False)

    # RKC-000002: esketamine started a week ago; today's session is in observation with an open BP alert.
    if esk_patient is not None:
        with _as_of(now - dt.timedelta(days=7)):
            course = services.course_create(actor=prescriber, patient=esk_patient, protocol_ref="esketamine-trd@1",
                                            start_on=clock.today())
        sessions = list(course.sessions.order_by("number"))
        for session in sessions[:2]:
            _complete(_Day(session, nurse, prescriber, _morning(session.planned_on, 9, 30), level=3),
                      lot="JK45R21", note="56 mg. BP peak 152/94 at 40 min. Sedation MOAA/S 4, resolved by 75 min.",
                      bp_peak=(152, 94))
        today_session = next((s for s in sessions if s.planned_on == today), None)
        if today_session is not None:
            day = _Day(today_session, nurse, prescriber, now - dt.timedelta(minutes=15 + 72), level=2)
            day.check_in("2")
            day.pre_dose()
            day.order()
            day.dose("JK52T08")
            day.monitor()
            day.vitals(15, moaas=4)
            _, alerts = day.vitals(40, systolic_mmhg=184, diastolic_mmhg=102, heart_rate_bpm=88, moaas=4,
                                   cadss_total=9)
            with day.at(15 + 44):
                for alert in alerts:
                    if alert.code == "vitals.cadss.dissociation":
                        services.session_alert_acknowledge(
                            actor=nurse, session=today_session, alert_id=alert.pk,
                            action="Reassured and reoriented; lights dimmed; resolving by 60 min.")
            day.vitals(60, systolic_mmhg=162, diastolic_mmhg=96, moaas=5, cadss_total=3)
            day.observe(62)

    # RKC-000001: IV maintenance every two weeks; today's infusion has been running for 25 minutes.
    if iv_patient is not None:
        with _as_of(now - dt.timedelta(days=14)):
            course = services.course_create(actor=prescriber, patient=iv_patient,
                                            protocol_ref="iv-ketamine-maintenance@1", start_on=clock.today(),
                                            open_ended_cycles=4)
        sessions = list(course.sessions.order_by("number"))
        _complete(_Day(sessions[0], nurse, prescriber, _morning(sessions[0].planned_on, 9), level=2),
                  lot="KET-2511", weight=Decimal("72.5"), note="Maintenance infusion, uneventful.")
        today_session = next((s for s in sessions if s.planned_on == today), None)
        if today_session is not None:
            day = _Day(today_session, nurse, prescriber, now - dt.timedelta(minutes=15 + 25), level=1)
            day.check_in("1")
            day.pre_dose(weight=Decimal("73.0"))
            day.order()
            day.dose("KET-2519")
            day.vitals(10)
            day.vitals(20, systolic_mmhg=142, diastolic_mmhg=88)

    # Psychotherapy / integration courses: no drug, so no clearance.
    therapist = users.get("therapist", nurse)
    plans = [(8, 21, "discharged"), (9, 0, "scheduled"), (10, 7, "checked_in"), (11, 30, "stopped")]
    for number, days_ago, stage in plans:
        p = _patient(clinic, number)
        if p is None:
            continue
        with _as_of(now - dt.timedelta(days=days_ago)):
            course = services.course_create(actor=prescriber, patient=p, protocol_ref="psychotherapy-integration@1",
                                            start_on=clock.today(), open_ended_cycles=6)
        for session in course.sessions.order_by("number"):
            if session.planned_on < today and stage != "stopped":
                _therapy(session, therapist, _morning(session.planned_on, 14))
        if stage == "stopped":
            with _as_of(now - dt.timedelta(days=9)):
                services.course_end(actor=prescriber, course=course, status="stopped",
                                    reason="Patient moved out of state; records sent to the new clinic.")
            continue
        todays = course.sessions.filter(planned_on=today).first()
        if todays is None:
            continue
        if stage == "discharged":
            _therapy(todays, therapist, now - dt.timedelta(hours=2))
        elif stage == "checked_in":
            with _as_of(now - dt.timedelta(minutes=5)):
                services.session_transition(actor=therapist, session=todays, to="checked_in", room="Therapy 1")


def _therapy(session, therapist, start: dt.datetime) -> None:
    with _as_of(start):
        services.session_transition(actor=therapist, session=session, to="checked_in", room="Therapy 1")
    with _as_of(start + dt.timedelta(minutes=50)):
        services.session_transition(actor=therapist, session=session, to="discharged")
        services.session_sign(actor=therapist, session=session,
                              text="Integration session: reviewed insights from the last dosing session.")
