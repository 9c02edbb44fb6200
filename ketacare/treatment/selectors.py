"""Reading treatment records: always scoped to the asking user's clinic, or to a session the caller already holds."""

import dataclasses
import datetime as dt

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.errors import NotFound
from ketacare.core.revisions import current_revision, revision_history
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment.domain.dosing import DoseCheck, DoseIssue, DoseOverride
from ketacare.treatment.domain.protocols import DEFAULT_PROTOCOLS, Protocol, overrides_from_json
from ketacare.treatment.domain.rems import EXEMPT_SETTING_TYPES, RemsSettings, pmf_required
from ketacare.treatment.domain.states import PregnancyCheck, SessionFacts
from ketacare.treatment.domain.vitals import VitalsReading as DomainReading
from ketacare.treatment.models import (
    AdverseEvent,
    Course,
    DoseAdministration,
    DoseOrder,
    DosingSession,
    PatientMonitoringForm,
    ProtocolSetting,
    RemsEnrollment,
    RemsSetting,
    VitalsReading,
)


class CourseNotFound(NotFound):
    """Course not found."""

    code = "course_not_found"


class SessionNotFound(NotFound):
    """Session not found."""

    code = "session_not_found"


class ProtocolNotFound(NotFound):
    """Protocol not found."""

    code = "protocol_not_found"


class RemsFormNotFound(NotFound):
    """Patient Monitoring Form not found."""

    code = "rems_form_not_found"


# ---- Protocols -------------------------------------------------------------------------------------------------

def protocol_base(ref: str) -> Protocol:
    try:
        return DEFAULT_PROTOCOLS[ref]
    except KeyError:
        raise ProtocolNotFound() from None


def protocol_setting_current(clinic_id: int, ref: str) -> ProtocolSetting | None:
    return current_revision(ProtocolSetting, clinic_id=clinic_id, protocol_ref=ref)


def protocol_from_setting(ref: str, setting: ProtocolSetting | None) -> Protocol:
    """The shipped protocol with the clinic's stored values applied (validated again by the domain)."""
    base = protocol_base(ref)
    return overrides_from_json(base, setting.overrides) if setting is not None and setting.overrides else base


def protocol_in_force(clinic_id: int, ref: str) -> tuple[Protocol, ProtocolSetting | None]:
    setting = protocol_setting_current(clinic_id, ref)
    return protocol_from_setting(ref, setting), setting


def protocols_for_clinic(clinic_id: int) -> list[dict]:
    """Every shipped protocol with the clinic's revision in force (if any) and the protocol it gives."""
    latest: dict[str, ProtocolSetting] = {}
    for setting in ProtocolSetting.objects.filter(clinic_id=clinic_id).select_related("created_by"):
        if setting.protocol_ref not in latest or setting.revision > latest[setting.protocol_ref].revision:
            latest[setting.protocol_ref] = setting
    return [{"ref": ref, "base": base, "setting": latest.get(ref),
             "protocol": protocol_from_setting(ref, latest.get(ref))} for ref, base in DEFAULT_PROTOCOLS.items()]


def protocol_history(clinic_id: int, ref: str) -> list[ProtocolSetting]:
    return revision_history(ProtocolSetting, clinic_id=clinic_id, protocol_ref=ref)


def rems_setting_history(clinic_id: int) -> list[RemsSetting]:
    return revision_history(RemsSetting, clinic_id=clinic_id)


def rems_setting_current(clinic_id: int) -> RemsSetting | None:
    return current_revision(RemsSetting, clinic_id=clinic_id)


def rems_settings(clinic_id: int) -> tuple[RemsSettings, str]:
    """The domain REMS flags of the clinic and its setting type (outpatient unless configured otherwise)."""
    row = rems_setting_current(clinic_id)
    if row is None:
        return RemsSettings(), c.SettingType.OUTPATIENT
    return RemsSettings(pmf_required=row.pmf_required, patient_enrollment_required=row.patient_enrollment_required,
                        pmf_due_days=row.pmf_due_days, pmf_due_soon_after_days=row.pmf_due_soon_after_days), \
        row.setting_type


def session_protocol(session: DosingSession) -> Protocol:
    """The protocol a session runs on: pinned at check-in, otherwise the clinic's revision in force now.

    The REMS flags of the protocol are also switched off when the clinic's REMS configuration says so (§8.4) or
    the clinic is an inpatient setting or ED (§8.2).
    """
    if session.protocol_pinned:
        protocol = protocol_from_setting(session.course.protocol_ref, session.protocol_setting)
    else:
        protocol, _ = protocol_in_force(session.clinic_id, session.course.protocol_ref)
    if protocol.rems_enrollment_required or protocol.rems_pmf_required:
        rems, setting_type = rems_settings(session.clinic_id)
        protocol = dataclasses.replace(
            protocol,
            rems_enrollment_required=protocol.rems_enrollment_required and rems.patient_enrollment_required
            and setting_type not in EXEMPT_SETTING_TYPES,
            rems_pmf_required=protocol.rems_pmf_required and pmf_required(setting_type, rems))
    return protocol


# ---- Courses and sessions --------------------------------------------------------------------------------------

def _courses_visible_to(user) -> QuerySet[Course]:
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return Course.objects.none()
    return Course.objects.filter(clinic_id=user.clinic_id)


def course_get_for(*, user, course_id: int) -> Course:
    """Raises CourseNotFound whether the course is absent or another clinic's."""
    try:
        return _courses_visible_to(user).select_related("patient").get(pk=course_id)
    except Course.DoesNotExist:
        raise CourseNotFound() from None


def courses_for_patient(*, user, patient) -> QuerySet[Course]:
    today = clock.today()
    final = [s.value for s in c.FINAL_STATES]
    return (_courses_visible_to(user).filter(patient=patient)
            .annotate(sessions_planned=Count("sessions", filter=~Q(sessions__state=c.SessionState.CANCELLED)),
                      sessions_done=Count("sessions", filter=Q(sessions__state=c.SessionState.DISCHARGED)),
                      next_due_on=Min("sessions__planned_on", filter=Q(sessions__planned_on__gte=today)
                                      & ~Q(sessions__state__in=final)))
            .order_by("-start_on", "-id"))


def course_summary(course: Course) -> dict:
    """Sessions done / planned and the next due date of one course."""
    sessions = list(course.sessions.all())
    today = clock.today()
    upcoming = [s.planned_on for s in sessions if s.state not in c.FINAL_STATES and s.planned_on >= today]
    return {"done": sum(s.state == c.SessionState.DISCHARGED for s in sessions),
            "planned": sum(s.state != c.SessionState.CANCELLED for s in sessions),
            "next_due_on": min(upcoming) if upcoming else None}


def _sessions_visible_to(user) -> QuerySet[DosingSession]:
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return DosingSession.objects.none()
    return DosingSession.objects.filter(clinic_id=user.clinic_id)


def session_get_for(*, user, session_id: int) -> DosingSession:
    """Raises SessionNotFound whether the session is absent or another clinic's."""
    try:
        return _sessions_visible_to(user).select_related("course", "patient", "protocol_setting").get(pk=session_id)
    except DosingSession.DoesNotExist:
        raise SessionNotFound() from None


def adverse_event_get_for(*, user, event_id: int) -> AdverseEvent:
    """The event with its session; raises SessionNotFound whether the event is absent or another clinic's."""
    try:
        return (AdverseEvent.objects.filter(session__in=_sessions_visible_to(user))
                .select_related("session__course", "session__patient", "session__protocol_setting").get(pk=event_id))
    except AdverseEvent.DoesNotExist:
        raise SessionNotFound() from None


def board_sessions(*, user, day: dt.date) -> list[DosingSession]:
    """Every session of the day in the user's clinic, plus any still in progress from an earlier day."""
    active = [s.value for s in c.ACTIVE_STATES]
    return list(
        _sessions_visible_to(user)
        .filter(Q(planned_on=day) | Q(state__in=active))
        .select_related("patient", "course")
        .prefetch_related(Prefetch("vitals", queryset=VitalsReading.objects.order_by("taken_at", "id")))
        .order_by("planned_on", "checked_in_at", "id"))


# ---- Facts about one session -----------------------------------------------------------------------------------

def to_domain_reading(row: VitalsReading) -> DomainReading:
    return DomainReading(taken_at=row.taken_at, systolic_mmhg=row.systolic_mmhg, diastolic_mmhg=row.diastolic_mmhg,
                         heart_rate_bpm=row.heart_rate_bpm, spo2_pct=row.spo2_pct,
                         resp_rate_per_min=row.resp_rate_per_min, moaas=row.moaas, cadss_total=row.cadss_total)


def baseline_reading(session: DosingSession) -> VitalsReading | None:
    """The latest reading taken before the first dose."""
    return session.vitals.filter(pre_dose=True).order_by("-taken_at", "-id").first()


def dosing_entered_at(session: DosingSession) -> dt.datetime | None:
    """When the session (last) moved into the dosing state: no dose is given before it."""
    return (session.transitions.filter(to_state=c.SessionState.DOSING).order_by("-at", "-id")
            .values_list("at", flat=True).first())


def observation_start(session: DosingSession) -> dt.datetime | None:
    """Where the observation clock starts: the first dose, but never before the session entered dosing (a typed,
    backdated first-dose time cannot shorten the observation)."""
    if session.first_dose_at is None:
        return None
    entered = dosing_entered_at(session)
    return max(session.first_dose_at, entered) if entered is not None else session.first_dose_at


def discharge_criteria_void(session: DosingSession) -> bool:
    """True when a vitals reading recorded at or after the discharge criteria were confirmed raised an alert: the
    criteria must then be confirmed again."""
    if session.discharge_recorded_at is None:
        return False
    from ketacare.safety.selectors import any_alert_from

    later = session.vitals.filter(recorded_at__gte=session.discharge_recorded_at).values("pk")
    return any_alert_from(clinic_id=session.clinic_id, patient_id=session.patient_id,
                          source_type=links.SOURCE_VITALS, source_ids=later)


def current_order(session: DosingSession) -> DoseOrder | None:
    return (session.dose_orders.filter(superseded_by__isnull=True).select_related("ordered_by")
            .order_by("-ordered_at", "-id").first())


def rems_enrolled(patient, on: dt.date | None = None) -> bool:
    enrollments = RemsEnrollment.objects.filter(patient=patient, clinic_id=patient.clinic_id)
    if on is not None:
        enrollments = enrollments.filter(enrolled_on__lte=on)
    return enrollments.exists()


# ---- REMS forms ------------------------------------------------------------------------------------------------

def _forms_visible_to(user) -> QuerySet[PatientMonitoringForm]:
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return PatientMonitoringForm.objects.none()
    return PatientMonitoringForm.objects.filter(clinic_id=user.clinic_id)


def rems_form_get_for(*, user, form_id: int) -> PatientMonitoringForm:
    try:
        return _forms_visible_to(user).select_related("session", "session__patient", "session__course").get(
            pk=form_id)
    except PatientMonitoringForm.DoesNotExist:
        raise RemsFormNotFound() from None


def rems_forms_for(*, user) -> QuerySet[PatientMonitoringForm]:
    return _forms_visible_to(user).select_related("session", "session__patient", "submitted_by")


def pre_dose_measures_done(session: DosingSession) -> frozenset[str]:
    """Instruments completed for this session before the dose (incomplete responses do not count)."""
    from ketacare.treatment.models import SessionMeasure

    return frozenset(SessionMeasure.objects.filter(session=session, timing=c.MeasureTiming.PRE,
                                                   response__status="complete")
                     .values_list("instrument_key", flat=True))


def session_facts(session: DosingSession, *, now: dt.datetime, reason: str = "",
                  with_clearance: bool = True) -> SessionFacts:
    """What the state machine's guards need, read from the session's rows at `now`."""
    protocol = session_protocol(session)
    baseline = baseline_reading(session)
    order = current_order(session)
    check = override = None
    if order is not None:
        issues = tuple(DoseIssue(i["code"], i["message"], i.get("overridable", True)) for i in order.issues)
        if order.dosing_weight_kg is not None and order.dosing_weight_kg != session.dosing_weight_kg:
            issues += (DoseIssue("dose.weight_changed", f"the dose was ordered on {order.dosing_weight_kg} kg but the "
                                 f"dosing weight is now {session.dosing_weight_kg} kg: order it again", False),)
        check = DoseCheck(issues)
        if order.override_reason:
            override = DoseOverride(prescriber=order.ordered_by.get_full_name() or order.ordered_by.get_username(),
                                    reason=order.override_reason)
    problems: tuple[str, ...] = ()
    if with_clearance and protocol.involves_dose and session.first_dose_at is None:
        clearance = links.route_clearance_for(patient=session.patient, route=session.course.route,
                                              on=timezone.localdate(now))
        problems = clearance.reasons if not clearance.ok else ()
    return SessionFacts(
        protocol=protocol, now=now,
        baseline_vitals=to_domain_reading(baseline) if baseline is not None else None,
        elevated_bp_decision_documented=bool(session.elevated_bp_decision.strip()),
        dosing_weight_kg=session.dosing_weight_kg,
        pregnancy_check=PregnancyCheck(session.pregnancy_check) if session.pregnancy_check else None,
        completed_questionnaires=pre_dose_measures_done(session),
        escort_confirmed=session.escort_confirmed,
        rems_patient_enrolled=rems_enrolled(session.patient, on=timezone.localdate(now)),
        open_high_suicide_alert=bool(links.suicide_risk_blocks(session.patient)),
        dose_check=check, dose_override=override,
        first_dose_at=observation_start(session),
        dose_complete=session.dose_completed_at is not None,
        open_critical_alert=any(a.severity in links.CRITICAL_SEVERITIES for a in links.session_alerts(session)),
        discharge_criteria_met=frozenset(session.discharge_criteria),
        discharge_criteria_void=discharge_criteria_void(session),
        hold_reason=reason, escalation_reason=reason,
        clearance_problems=tuple(problems),
    )


# ---- One patient's record, for exports (interop) ----------------------------------------------------------------

def sessions_of_patient_for(*, user, patient) -> QuerySet[DosingSession]:
    """Every session of a patient (therapy sessions too), oldest first; empty unless the user may see clinical data
    of the patient's clinic."""
    return (_sessions_visible_to(user).filter(patient=patient, clinic_id=patient.clinic_id)
            .select_related("course").order_by("planned_on", "number", "id"))


def vitals_of_patient_for(*, user, patient) -> QuerySet[VitalsReading]:
    return (VitalsReading.objects.filter(session__in=sessions_of_patient_for(user=user, patient=patient))
            .order_by("taken_at", "id"))


def administrations_of_patient_for(*, user, patient) -> QuerySet[DoseAdministration]:
    return (DoseAdministration.objects.filter(session__in=sessions_of_patient_for(user=user, patient=patient))
            .select_related("session__course").order_by("given_at", "id"))


def sessions_of_patients_for(*, user, patient_ids: list[int]) -> QuerySet[DosingSession]:
    """The sessions of many patients of the user's clinic at once (bulk export), by patient then as above."""
    return (_sessions_visible_to(user).filter(patient_id__in=patient_ids).select_related("course")
            .order_by("patient_id", "planned_on", "number", "id"))


def vitals_of_patients_for(*, user, patient_ids: list[int]) -> QuerySet[VitalsReading]:
    return (VitalsReading.objects.filter(session__in=_sessions_visible_to(user).filter(patient_id__in=patient_ids))
            .select_related("session").order_by("taken_at", "id"))


def administrations_of_patients_for(*, user, patient_ids: list[int]) -> QuerySet[DoseAdministration]:
    return (DoseAdministration.objects
            .filter(session__in=_sessions_visible_to(user).filter(patient_id__in=patient_ids))
            .select_related("session__course").order_by("given_at", "id"))


def patient_id_of_vitals(*, user, reading_id: int) -> int | None:
    """The patient of a vitals reading the user may see, or None (absent or another clinic's alike)."""
    return (VitalsReading.objects.filter(pk=reading_id, session__in=_sessions_visible_to(user))
            .values_list("session__patient_id", flat=True).first())


def patient_id_of_administration(*, user, administration_id: int) -> int | None:
    return (DoseAdministration.objects.filter(pk=administration_id, session__in=_sessions_visible_to(user))
            .values_list("session__patient_id", flat=True).first())


def schedule_sessions(*, clinic_id: int, patient_id: int) -> list[dict]:
    """Every course of one patient (of this clinic) with its sessions, for the portal's self-report schedule:
    [{"course_id", "protocol_ref", "sessions": [{"number", "phase", "planned_on", "cancelled", "dosed_at"}]}]. A
    session that ended without a dose (cancelled, held, escalated) counts as cancelled."""
    ended = {c.SessionState.CANCELLED, c.SessionState.HELD, c.SessionState.ESCALATED}
    courses: dict[int, dict] = {}
    for course in Course.objects.filter(clinic_id=clinic_id, patient_id=patient_id).order_by("start_on", "id"):
        courses[course.pk] = {"course_id": course.pk, "protocol_ref": course.protocol_ref, "sessions": []}
    rows = (DosingSession.objects.filter(clinic_id=clinic_id, patient_id=patient_id)
            .values("course_id", "number", "phase", "planned_on", "state", "first_dose_at")
            .order_by("course_id", "number"))
    for row in rows:
        courses[row["course_id"]]["sessions"].append({
            "number": row["number"], "phase": row["phase"], "planned_on": row["planned_on"],
            "cancelled": row["state"] in ended and row["first_dose_at"] is None, "dosed_at": row["first_dose_at"]})
    return list(courses.values())


def patients_with_courses() -> list[tuple[int, int]]:
    """(clinic id, patient id) of every patient with a course, for the portal's periodic schedule re-sync."""
    return list(Course.objects.values_list("clinic_id", "patient_id").distinct().order_by("clinic_id", "patient_id"))


def first_doses_of_clinic(*, clinic_id: int) -> dict[int, dt.datetime]:
    """{patient id: the first dose this clinic gave them}, for exports that split before and after treatment."""
    rows = (DosingSession.objects.filter(clinic_id=clinic_id, first_dose_at__isnull=False).values("patient_id")
            .annotate(first=Min("first_dose_at")).values_list("patient_id", "first"))
    return {patient_id: first for patient_id, first in rows if first is not None}


def next_lot_number(session) -> str:
    """The lot of the session's last device, carried forward to the next one ("" before the first)."""
    last = session.administrations.order_by("-given_at", "-id").first()
    return last.lot_number if last is not None and last.device_number else ""
