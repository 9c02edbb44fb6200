"""Writing treatment records. Every service is keyword-only, runs in one transaction, asks the domain for the rule,
and writes its audit row in the same transaction. Sessions are locked (SELECT ... FOR UPDATE) while they change.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import Conflict, PermissionDenied
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.dosing import (
    DoseRefused,
    DosingWeight,
    Sex,
    WeightBasis,
    device_gap_warnings,
    dose_check,
    dosing_weight,
    esketamine_devices,
    iv_dose,
)
from ketacare.treatment.domain.protocols import (
    DeviceDoseRule,
    ProtocolInvalid,
    WeightBasedDoseRule,
    overrides_from_json,
    overrides_to_json,
)
from ketacare.treatment.domain.rems import pmf_due_on, pmf_from_snapshot
from ketacare.treatment.domain.schedule import PlannedSession, ScheduleError, generate_course, reschedule
from ketacare.treatment.domain.states import SessionState, check_transition
from ketacare.treatment.domain.vitals import evaluate_vitals, vitals_due
from ketacare.treatment.models import (
    AdverseEvent,
    Course,
    DoseAdministration,
    DoseOrder,
    DosingSession,
    InfusionEnd,
    PatientMonitoringForm,
    ProtocolSetting,
    RemsEnrollment,
    RemsSetting,
    SessionAddendum,
    SessionLocked,
    SessionMeasure,
    SessionTransition,
    SideEffectCheck,
    SuicideRiskClearance,
    VitalsReading,
)
from ketacare.treatment.rems import PMF_TEMPLATES, jsonable, session_snapshot


class CourseNotCleared(Conflict):
    """The patient is not cleared for this route: a signed eligibility approval and a current consent are needed."""

    code = "course.not_cleared"


class DoseOverrideRequired(Conflict):
    """The dose is outside the protocol: a prescriber must give a reason to override."""

    code = "dose.override_required"


class SessionStateConflict(Conflict):
    """The session is not in a state where this can be recorded."""

    code = "session.wrong_state"


class DosingBlocked(Conflict):
    """No further dose while an emergency alert of the session or a suicide-risk block is open."""

    code = "dose.blocked"


class AlreadyCleared(Conflict):
    """This suicide-risk alert has already been cleared by a prescriber."""

    code = "suicide_risk.already_cleared"


class PmfIncomplete(Conflict):
    """The Patient Monitoring Form lacks required fields."""

    code = "rems.pmf_incomplete"


VITALS_STATES = frozenset({c.SessionState.CHECKED_IN, c.SessionState.PRE_DOSE, c.SessionState.DOSING,
                           c.SessionState.MONITORING, c.SessionState.OBSERVATION,
                           c.SessionState.READY_FOR_DISCHARGE})
MONITORED_STATES = frozenset({c.SessionState.DOSING, c.SessionState.MONITORING, c.SessionState.OBSERVATION,
                              c.SessionState.READY_FOR_DISCHARGE})
# Moving a dosing session into or through the dose needs the dose-administering clinicians (nurse, prescriber).
DOSE_STEP_TARGETS = frozenset({SessionState.DOSING, SessionState.MONITORING, SessionState.OBSERVATION,
                               SessionState.READY_FOR_DISCHARGE, SessionState.DISCHARGED})
FUTURE_TOLERANCE = dt.timedelta(minutes=2)


def _need(actor, perm: Perm) -> None:
    if not actor.has_perm_to(perm):
        raise PermissionDenied()


def _same_clinic(actor, row) -> None:
    if actor.clinic_id != row.clinic_id:
        raise sel.SessionNotFound()


def _lock(session: DosingSession) -> DosingSession:
    """The session row, locked until the transaction ends; refused when it is signed."""
    locked = DosingSession.objects.select_for_update().get(pk=session.pk)
    if locked.signed_at is not None:
        raise SessionLocked()
    # Related rows are read after the lock so that they are current.
    locked.course = Course.objects.get(pk=locked.course_id)
    locked.patient = session.patient
    return locked


def _not_future(name: str, value: dt.datetime, now: dt.datetime) -> None:
    if value > now + FUTURE_TOLERANCE:
        raise ValidationError({name: "This time is in the future."})


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


# ---- Clinic configuration --------------------------------------------------------------------------------------

@transaction.atomic
def protocol_configure(*, actor, protocol_ref: str, overrides: dict[str, Any], reason: str) -> ProtocolSetting:
    """Store the clinic's values for a protocol as a new revision, after the domain has validated them."""
    _need(actor, Perm.CLINIC_CONFIGURE)
    base = sel.protocol_base(protocol_ref)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the protocol changes (e.g. medical director decision of …)."})
    try:
        protocol = overrides_from_json(base, overrides)
    except ProtocolInvalid as exc:
        raise ValidationError({"overrides": str(exc)}) from None
    from ketacare.instruments.selectors import instruments_available

    known = {i.key for i in instruments_available(actor.clinic)}
    unknown = sorted({q.instrument for q in protocol.questionnaires} - known)
    if unknown:
        raise ValidationError({"questionnaires": f"Unknown instruments: {', '.join(unknown)}."})
    last = sel.protocol_setting_current(actor.clinic_id, protocol_ref)
    setting = ProtocolSetting(clinic_id=actor.clinic_id, protocol_ref=protocol_ref,
                              revision=(last.revision + 1) if last else 1,
                              overrides=overrides_to_json(base, protocol), reason=reason.strip(),
                              created_by=actor, created_at=clock.now())
    setting.full_clean(validate_constraints=False)
    setting.save()
    audit_record(actor=actor, action=AuditAction.PROTOCOL_CONFIGURED, target=setting,
                 data={"protocol": protocol_ref, "revision": setting.revision, "changed": sorted(setting.overrides)})
    return setting


REMS_FIELDS = ("pmf_required", "patient_enrollment_required", "pmf_due_days", "pmf_due_soon_after_days",
               "setting_type", "pmf_template", "setting_name", "address_1", "address_2", "city", "state", "zip_code",
               "telephone")


@transaction.atomic
def rems_configure(*, actor, reason: str, **values: Any) -> RemsSetting:
    """A new revision of the clinic's REMS flags and setting details (§8.4: every REMS rule behind a flag)."""
    _need(actor, Perm.CLINIC_CONFIGURE)
    unknown = set(values) - set(REMS_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the REMS configuration changes."})
    last = sel.rems_setting_current(actor.clinic_id)
    current = {f: getattr(last, f) for f in REMS_FIELDS} if last else {}
    row = RemsSetting(clinic_id=actor.clinic_id, revision=(last.revision + 1) if last else 1,
                      **{**current, **values}, reason=reason.strip(), created_by=actor, created_at=clock.now())
    if row.pmf_template not in PMF_TEMPLATES:
        raise ValidationError({"pmf_template": f"Unknown form template (known: {', '.join(PMF_TEMPLATES)})."})
    if row.pmf_due_soon_after_days > row.pmf_due_days:
        raise ValidationError({"pmf_due_soon_after_days": "'Due soon' must start on or before the due day."})
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.REMS_CONFIGURED, target=row,
                 data={"revision": row.revision, "changed": sorted(k for k in values if current.get(k) != values[k])})
    return row


@transaction.atomic
def rems_enrollment_record(*, actor, patient, enrolled_on: dt.date, reference: str = "") -> RemsEnrollment:
    """Record that the patient is enrolled in the SPRAVATO REMS (needed before the first outpatient dose)."""
    _need(actor, Perm.CLINICAL_RECORD)
    if actor.clinic_id != patient.clinic_id:
        raise sel.SessionNotFound()
    if enrolled_on is None:
        raise ValidationError({"enrolled_on": "Enter the enrollment date."})
    if enrolled_on > clock.today():
        raise ValidationError({"enrolled_on": "The enrollment date cannot be in the future."})
    row = RemsEnrollment(clinic_id=patient.clinic_id, patient=patient, enrolled_on=enrolled_on,
                         reference=(reference or "").strip(), recorded_by=actor, recorded_at=clock.now())
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.REMS_ENROLLMENT_RECORDED, target=row, patient_id=patient.pk,
                 data={"enrolled_on": enrolled_on.isoformat()})
    return row


# ---- Courses ---------------------------------------------------------------------------------------------------

@transaction.atomic
def course_create(*, actor, patient, protocol_ref: str, start_on: dt.date, open_ended_cycles: int = 0,
                  open_ended_cycle_days: int | None = None) -> Course:
    """Start a course: refused unless the route is cleared (signed approval + current consent); sessions are
    generated from the protocol's phases and can be moved afterwards."""
    _need(actor, Perm.PRESCRIBE)
    if actor.clinic_id != patient.clinic_id:
        raise sel.CourseNotFound()
    protocol, setting = sel.protocol_in_force(actor.clinic_id, protocol_ref)
    today = clock.today()
    if start_on is None:
        raise ValidationError({"start_on": "Enter the date of the first session."})
    if not today - dt.timedelta(days=30) <= start_on <= today + dt.timedelta(days=365):
        raise ValidationError({"start_on": "The first session must be within the last 30 days or the next year."})
    if open_ended_cycles < 0 or open_ended_cycles > 52:
        raise ValidationError({"open_ended_cycles": "Plan between 0 and 52 open-ended cycles."})
    clearance = links.route_clearance_for(patient=patient, route=protocol.route, on=today)
    if not clearance.ok:
        raise CourseNotCleared("; ".join(clearance.reasons) or CourseNotCleared.__doc__,
                               reasons=list(clearance.reasons))
    try:
        plan = generate_course(protocol.phases, start_on, open_ended_cycles=open_ended_cycles,
                               open_ended_cycle_days=open_ended_cycle_days)
    except ScheduleError as exc:
        raise ValidationError({"open_ended_cycle_days": str(exc)}) from None
    if not plan:
        raise ValidationError({"open_ended_cycles": "This protocol is open-ended: plan at least one cycle."})
    now = clock.now()
    course = Course(clinic_id=patient.clinic_id, patient=patient, protocol_ref=protocol.ref,
                    protocol_setting=setting, route=protocol.route.value, start_on=start_on,
                    open_ended_cycles=open_ended_cycles, open_ended_cycle_days=open_ended_cycle_days,
                    clearance=clearance.snapshot, created_by=actor, created_at=now)
    course.full_clean(validate_constraints=False)
    course.save()
    sessions = [DosingSession(clinic_id=course.clinic_id, course=course, patient=patient, number=p.number,
                              phase=p.phase, planned_on=p.planned_on, created_at=now) for p in plan]
    for session in sessions:
        session.full_clean(validate_constraints=False, exclude=["course"])
    DosingSession.objects.bulk_create(sessions)
    audit_record(actor=actor, action=AuditAction.COURSE_CREATED, target=course, patient_id=patient.pk,
                 data={"protocol": protocol.ref, "sessions": len(sessions), "start_on": start_on.isoformat(),
                       "clearance": clearance.snapshot})
    return course


@transaction.atomic
def course_reschedule(*, actor, session: DosingSession, new_on: dt.date, shift_following: bool = False) -> Course:
    """Move a scheduled session (and, if asked, every later one by the same number of days)."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    course = Course.objects.select_for_update().get(pk=session.course_id)
    if course.status != c.CourseStatus.ACTIVE:
        raise SessionStateConflict("The course has ended.")
    if new_on is None:
        raise ValidationError({"new_on": "Enter the new date."})
    sessions = {s.number: s for s in course.sessions.select_for_update()}
    plan = tuple(PlannedSession(s.number, s.phase, s.planned_on) for s in sessions.values())
    try:
        moved = reschedule(plan, session.number, new_on, shift_following=shift_following)
    except ScheduleError as exc:
        raise ValidationError({"new_on": str(exc)}) from None
    changed = [p for p in moved if p.planned_on != sessions[p.number].planned_on]
    for p in changed:
        row = sessions[p.number]
        if row.state != c.SessionState.SCHEDULED:
            raise ValidationError({"new_on": f"Session {p.number} has already started and cannot move."})
        row.planned_on = p.planned_on
        row.save(update_fields=["planned_on"])
    audit_record(actor=actor, action=AuditAction.COURSE_RESCHEDULED, target=course, patient_id=course.patient_id,
                 data={"session": session.number, "new_on": new_on.isoformat(), "moved": len(changed)})
    return course


@transaction.atomic
def course_end(*, actor, course: Course, status: str, reason: str) -> Course:
    """Complete or stop a course; its remaining scheduled sessions are cancelled with the reason."""
    _need(actor, Perm.PRESCRIBE)
    if actor.clinic_id != course.clinic_id:
        raise sel.CourseNotFound()
    if status not in (c.CourseStatus.COMPLETED, c.CourseStatus.STOPPED):
        raise ValidationError({"status": "Choose completed or stopped."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give the reason."})
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.status != c.CourseStatus.ACTIVE:
        raise SessionStateConflict("The course has already ended.")
    if course.sessions.filter(state__in=[s.value for s in c.ACTIVE_STATES]).exists():
        raise SessionStateConflict("A session of this course is in progress; finish it first.")
    now = clock.now()
    for session in course.sessions.filter(state=c.SessionState.SCHEDULED).select_for_update():
        _set_state(session, c.SessionState.CANCELLED, actor=actor, now=now, reason=f"course ended: {reason.strip()}")
        session.ended_reason = f"course ended: {reason.strip()}"
        session.save()
    course.status, course.ended_at, course.ended_by, course.end_reason = status, now, actor, reason.strip()
    course.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    audit_record(actor=actor, action=AuditAction.COURSE_ENDED, target=course, patient_id=course.patient_id,
                 data={"status": status})
    return course


# ---- Session workflow ------------------------------------------------------------------------------------------

def _set_state(session: DosingSession, target: str, *, actor, now: dt.datetime, reason: str = "") -> None:
    SessionTransition(clinic_id=session.clinic_id, session=session, from_state=session.state, to_state=target,
                      at=now, by=actor, reason=reason).save()
    session.state = target
    session.state_changed_at = now


def transition_perm(session: DosingSession, target: SessionState) -> Perm:
    if target in DOSE_STEP_TARGETS and session.course.route != c.Route.NONE:
        return Perm.DOSE_ADMINISTER
    return Perm.CLINICAL_RECORD


@transaction.atomic
def session_transition(*, actor, session: DosingSession, to: str, reason: str = "", room: str = "") -> DosingSession:
    """Move the session to `to` if the state machine allows it now; refused with the reason (TransitionRefused)."""
    _same_clinic(actor, session)
    try:
        target = SessionState(to)
    except ValueError:
        raise ValidationError({"to": f"Unknown state {str(to)[:40]!r}."}) from None
    s = _lock(session)
    _need(actor, transition_perm(s, target))
    now = clock.now()
    reason = (reason or "").strip()
    if target is SessionState.CHECKED_IN and s.state == c.SessionState.SCHEDULED:
        # The clinic's protocol revision in force at check-in governs the whole session.
        s.protocol_setting = sel.protocol_setting_current(s.clinic_id, s.course.protocol_ref)
        s.protocol_pinned = True
    facts = sel.session_facts(s, now=now, reason=reason)
    previous = s.state
    check_transition(SessionState(previous), target, facts)
    _set_state(s, target.value, actor=actor, now=now, reason=reason)
    if target is SessionState.CHECKED_IN:
        s.checked_in_at = now
        s.room = (room or "").strip()[:20]
    if target in (SessionState.HELD, SessionState.ESCALATED, SessionState.CANCELLED):
        s.ended_reason = reason
    if target is SessionState.DISCHARGED:
        s.discharged_at, s.discharged_by = now, actor
    s.full_clean(validate_constraints=False)
    s.save()
    if target is SessionState.ESCALATED:
        links.raise_alert(patient=s.patient, code="session.escalated", severity="emergency",
                          message=f"Session escalated (transfer/emergency): {reason}"[:500],
                          source_type=links.SOURCE_SESSION, source_id=s.pk, actor=actor)
    if target.value in c.FINAL_STATES:
        _pmf_create_if_required(s, now=now)
        _course_complete_if_done(s.course, now=now, actor=actor)
    audit_record(actor=actor, action=AuditAction.SESSION_TRANSITIONED, target=s, patient_id=s.patient_id,
                 data={"from": previous, "to": target.value})
    return s


def _course_complete_if_done(course: Course, *, now: dt.datetime, actor) -> None:
    if course.status == c.CourseStatus.ACTIVE and not course.sessions.exclude(
            state__in=[s.value for s in c.FINAL_STATES]).exists():
        course.status, course.ended_at, course.ended_by = c.CourseStatus.COMPLETED, now, actor
        course.end_reason = "all planned sessions ended"
        course.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])


def _pmf_create_if_required(session: DosingSession, *, now: dt.datetime) -> PatientMonitoringForm | None:
    """A REMS form is due for every outpatient esketamine session in which a dose was given (§8.3)."""
    if session.course.route != c.Route.INTRANASAL or session.first_dose_at is None:
        return None
    if not sel.session_protocol(session).rems_pmf_required:
        return None
    settings, _ = sel.rems_settings(session.clinic_id)
    row = sel.rems_setting_current(session.clinic_id)
    day = timezone.localdate(session.first_dose_at)
    form, _ = PatientMonitoringForm.objects.get_or_create(
        session=session, defaults={"clinic_id": session.clinic_id, "session_on": day,
                                   "due_on": pmf_due_on(day, settings), "created_at": now,
                                   "template_version": row.pmf_template if row else next(iter(PMF_TEMPLATES))})
    return form


PREDOSE_FIELDS = ("actual_weight_kg", "height_cm", "ibw_sex", "weight_basis", "pregnancy_check", "escort_confirmed",
                  "escort_name", "elevated_bp_decision", "benzodiazepines", "non_benzodiazepine_sedative_hypnotics",
                  "psychostimulants", "maois", "opioids")


@transaction.atomic
def predose_record(*, actor, session: DosingSession, **fields: Any) -> DosingSession:
    """Record the pre-dose assessment (weight and its basis, pregnancy check, escort, concomitant medication, the
    prescriber's decision on an elevated baseline BP). Only the fields given change."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    unknown = set(fields) - set(PREDOSE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    s = _lock(session)
    if s.state not in (c.SessionState.CHECKED_IN, c.SessionState.PRE_DOSE):
        raise SessionStateConflict("The pre-dose assessment is recorded after check-in and before dosing.")
    changed = sorted(k for k, v in fields.items() if getattr(s, k) != v)
    decision = (fields.get("elevated_bp_decision") or "").strip()
    if "elevated_bp_decision" in changed:
        if decision:
            _need(actor, Perm.PRESCRIBE)  # the risk-benefit decision is the prescriber's (§6)
        fields["elevated_bp_decision"] = decision
        s.elevated_bp_decision_by = actor if decision else None
    for name, value in fields.items():
        setattr(s, name, value.strip() if isinstance(value, str) else value)
    protocol = sel.session_protocol(s)
    rule = protocol.dose_rule
    if s.actual_weight_kg is not None and isinstance(rule, WeightBasedDoseRule):
        basis = WeightBasis(s.weight_basis or WeightBasis.ACTUAL)
        try:
            weight = dosing_weight(basis, actual_kg=s.actual_weight_kg, height_cm=s.height_cm,
                                   sex=Sex(s.ibw_sex) if s.ibw_sex else None,
                                   adjusted_factor=rule.adjusted_weight_factor)
        except DoseRefused as exc:
            raise ValidationError({"weight_basis": str(exc)}) from None
        s.weight_basis, s.dosing_weight_kg, s.dosing_weight_working = basis.value, weight.kg, list(weight.working)
    elif s.actual_weight_kg is None:
        s.dosing_weight_kg, s.dosing_weight_working = None, []
    s.predose_recorded_by, s.predose_recorded_at = actor, clock.now()
    s.full_clean(validate_constraints=False)
    s.save()
    audit_record(actor=actor, action=AuditAction.PREDOSE_RECORDED, target=s, patient_id=s.patient_id,
                 data={"changed": changed})
    return s


# ---- Dose ------------------------------------------------------------------------------------------------------

def _previous_dose_mg(session: DosingSession) -> Decimal | None:
    previous = (DosingSession.objects.filter(course_id=session.course_id, first_dose_at__isnull=False)
                .exclude(pk=session.pk).order_by("-first_dose_at").first())
    if previous is None:
        return None
    return sum((a.mg for a in previous.administrations.all()), Decimal(0)) or None


def dose_default_mg(session: DosingSession) -> Decimal | None:
    """The esketamine dose offered by default: the previous session's dose, or the protocol's first dose."""
    rule = sel.session_protocol(session).dose_rule
    if not isinstance(rule, DeviceDoseRule):
        return None
    return _previous_dose_mg(session) or rule.first_dose_mg


@transaction.atomic
def dose_order(*, actor, session: DosingSession, dose_mg: Decimal | None = None, mg_per_kg: Decimal | None = None,
               concentration_mg_per_ml: Decimal | None = None, infusion_minutes: int | None = None,
               override_reason: str = "") -> DoseOrder:
    """The prescriber's order, computed and checked by the domain. A dose outside the protocol needs an explicit
    override with a reason; a dose above the hard maximum or not in whole devices is refused outright."""
    _need(actor, Perm.PRESCRIBE)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state not in (c.SessionState.CHECKED_IN, c.SessionState.PRE_DOSE):
        raise SessionStateConflict("A dose is ordered after check-in and before dosing starts.")
    if s.administrations.exists():
        raise SessionStateConflict("The dose is already being given; it cannot be re-ordered.")
    protocol = sel.session_protocol(s)
    rule = protocol.dose_rule
    override_reason = (override_reason or "").strip()
    now = clock.now()
    previous = _previous_dose_mg(s)
    order = DoseOrder(clinic_id=s.clinic_id, session=s, ordered_by=actor, ordered_at=now)
    if isinstance(rule, WeightBasedDoseRule):
        mg_per_kg = mg_per_kg if mg_per_kg is not None else rule.mg_per_kg
        infusion_minutes = infusion_minutes if infusion_minutes is not None else rule.infusion_minutes
        if concentration_mg_per_ml is None:
            raise ValidationError({"concentration_mg_per_ml": "Enter the concentration of the prepared infusion."})
        if s.dosing_weight_kg is None:
            raise ValidationError({"mg_per_kg": "Record the weight and its basis in the pre-dose assessment first."})
        weight = DosingWeight(WeightBasis(s.weight_basis), s.dosing_weight_kg, tuple(s.dosing_weight_working))
        try:
            dose = iv_dose(weight=weight, mg_per_kg=mg_per_kg, concentration_mg_per_ml=concentration_mg_per_ml,
                           infusion_minutes=infusion_minutes, max_mg=rule.max_total_mg)
        except DoseRefused as exc:
            raise DoseRefused(str(exc), working=list(exc.details.get("working", []))) from None
        check = dose_check(protocol, dose_mg=dose.mg, mg_per_kg=mg_per_kg, infusion_minutes=infusion_minutes)
        order.dose_mg, order.mg_per_kg, order.infusion_minutes = dose.mg, mg_per_kg, infusion_minutes
        order.weight_basis, order.dosing_weight_kg = s.weight_basis, s.dosing_weight_kg
        order.concentration_mg_per_ml, order.volume_ml = concentration_mg_per_ml, dose.ml
        order.rate_mg_per_min, order.rate_ml_per_h, order.working = dose.mg_per_min, dose.ml_per_h, list(dose.working)
    elif isinstance(rule, DeviceDoseRule):
        first_in_course = previous is None
        if dose_mg is None:
            dose_mg = rule.first_dose_mg if first_in_course else previous
        check = dose_check(protocol, dose_mg=dose_mg, first_in_course=first_in_course, previous_dose_mg=previous)
        if check.refused:
            raise DoseRefused("; ".join(i.message for i in check.issues))
        devices = esketamine_devices(dose_mg, now, minutes_between=rule.minutes_between_devices)
        order.dose_mg, order.device_count = dose_mg, len(devices)
        order.working = [f"dose: {dose_mg} mg = {len(devices)} x {rule.device_mg} mg device"
                         f"{'s' if len(devices) > 1 else ''}",
                         f"one device every {rule.minutes_between_devices} min: devices at "
                         + ", ".join(f"+{(d.scheduled_at - now).seconds // 60} min" for d in devices),
                         "first dose of the course" if first_in_course else f"previous dose {previous} mg"]
    else:
        raise DoseRefused(f"protocol {protocol.ref} gives no dose")
    if check.refused:
        raise DoseRefused("; ".join(i.message for i in check.issues), working=order.working)
    if check.needs_override and not override_reason:
        raise DoseOverrideRequired("; ".join(i.message for i in check.issues),
                                   issues=[{"code": i.code, "message": i.message} for i in check.issues],
                                   working=order.working)
    order.issues = [{"code": i.code, "message": i.message, "overridable": i.overridable} for i in check.issues]
    order.override_reason = override_reason if check.issues else ""
    order.supersedes = sel.current_order(s)
    order.full_clean(validate_constraints=False)
    order.save()
    audit_record(actor=actor, action=AuditAction.DOSE_ORDERED, target=order, patient_id=s.patient_id,
                 data={"dose_mg": str(order.dose_mg), "override": bool(order.override_reason),
                       "issues": [i["code"] for i in order.issues]})
    return order


@transaction.atomic
def dose_administer(*, actor, session: DosingSession, lot_number: str, given_at: dt.datetime | None = None,
                    device_number: int | None = None) -> DoseAdministration:
    """Record one esketamine device (time and lot) or the start of the IV infusion. The first one starts the
    observation clock (§7: from the first device)."""
    _need(actor, Perm.DOSE_ADMINISTER)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state != c.SessionState.DOSING:
        raise SessionStateConflict("Start dosing first: the pre-dose checks must pass.")
    order = sel.current_order(s)
    if order is None:
        raise SessionStateConflict("No dose has been ordered.")
    if any(a.severity in links.CRITICAL_SEVERITIES for a in links.session_alerts(s)):
        raise DosingBlocked("An emergency alert of this session is open: acknowledge it and reassess the patient "
                            "before giving more.")
    if links.suicide_risk_blocks(s.patient):
        raise DosingBlocked("A suicide-risk alert blocks dosing until a prescriber clears it.")
    now = clock.now()
    given_at = _aware(given_at) or now
    lot_number = (lot_number or "").strip()
    entered_dosing_at = sel.dosing_entered_at(s)
    errors = {}
    if not lot_number:
        errors["lot_number"] = "Enter the lot number printed on the device or vial."
    if given_at > now + FUTURE_TOLERANCE:
        errors["given_at"] = "This time is in the future."
    elif entered_dosing_at and given_at < entered_dosing_at:
        errors["given_at"] = (f"This time is before dosing started "
                              f"({timezone.localtime(entered_dosing_at):%H:%M:%S}).")
    elif s.checked_in_at and given_at < s.checked_in_at:
        errors["given_at"] = "This time is before the patient checked in."
    if errors:
        raise ValidationError(errors)
    given = list(s.administrations.order_by("given_at", "id"))
    warnings: list[str] = []
    if order.device_count:
        number = len(given) + 1
        if number > order.device_count:
            raise SessionStateConflict(f"All {order.device_count} devices are already recorded.")
        if device_number is not None and device_number != number:
            raise ValidationError({"device_number": f"The next device is number {number}."})
        if given and given_at < given[-1].given_at:
            raise ValidationError({"given_at": f"Device {number} cannot be before device {number - 1}."})
        gap = sel.session_protocol(s).dose_rule.minutes_between_devices
        warnings = [w for w in device_gap_warnings([a.given_at for a in given] + [given_at], gap)
                    if w.startswith(f"device {number} ")]
        mg = order.dose_mg / order.device_count
    else:
        if given:
            raise SessionStateConflict("The infusion has already started.")
        number, mg = None, order.dose_mg
    row = DoseAdministration(clinic_id=s.clinic_id, session=s, order=order, device_number=number, mg=mg,
                             given_at=given_at, lot_number=lot_number, given_by=actor, recorded_at=now,
                             warnings=warnings)
    row.full_clean(validate_constraints=False)
    row.save()
    if not given:
        s.first_dose_at = given_at
    if order.device_count and number == order.device_count:
        s.dose_completed_at = given_at
    s.save(update_fields=["first_dose_at", "dose_completed_at"])
    audit_record(actor=actor, action=AuditAction.DOSE_ADMINISTERED, target=row, patient_id=s.patient_id,
                 data={"mg": str(mg), "device": number, "lot_number": lot_number, "warnings": warnings})
    return row


@transaction.atomic
def infusion_end(*, actor, session: DosingSession, ended_at: dt.datetime | None = None, note: str = "") -> InfusionEnd:
    """Record when the IV infusion stopped; the dose is then complete."""
    _need(actor, Perm.DOSE_ADMINISTER)
    _same_clinic(actor, session)
    s = _lock(session)
    start = s.administrations.filter(device_number__isnull=True).first()
    if s.state != c.SessionState.DOSING or start is None:
        raise SessionStateConflict("There is no running infusion to stop.")
    if InfusionEnd.objects.filter(administration=start).exists():
        raise SessionStateConflict("The infusion end is already recorded.")
    now = clock.now()
    ended_at = _aware(ended_at) or now
    _not_future("ended_at", ended_at, now)
    if ended_at < start.given_at:
        raise ValidationError({"ended_at": "The infusion cannot end before it started."})
    row = InfusionEnd(clinic_id=s.clinic_id, administration=start, ended_at=ended_at, recorded_by=actor,
                      recorded_at=now, note=(note or "").strip())
    row.full_clean(validate_constraints=False)
    row.save()
    s.dose_completed_at = ended_at
    s.save(update_fields=["dose_completed_at"])
    audit_record(actor=actor, action=AuditAction.INFUSION_ENDED, target=row, patient_id=s.patient_id,
                 data={"minutes": int((ended_at - start.given_at).total_seconds() // 60)})
    return row


# ---- Monitoring ------------------------------------------------------------------------------------------------

VITALS_FIELDS = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "resp_rate_per_min", "moaas",
                 "cadss_total")


@transaction.atomic
def vitals_record(*, actor, session: DosingSession, taken_at: dt.datetime | None = None,
                  **values: int | None) -> tuple[VitalsReading, list]:
    """Store one reading and raise an alert for each threshold it crosses (the protocol's, exactly as named).

    The session row is locked so that readings recorded at the same moment by two nurses are both kept and counted.
    """
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    unknown = set(values) - set(VITALS_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    s = _lock(session)
    if s.state not in VITALS_STATES:
        raise SessionStateConflict("Vital signs are recorded from check-in until discharge.")
    now = clock.now()
    taken_at = _aware(taken_at) or now
    _not_future("taken_at", taken_at, now)
    if all(values.get(f) is None for f in VITALS_FIELDS):
        raise ValidationError({"systolic_mmhg": "Enter at least one measurement."})
    if (values.get("systolic_mmhg") is None) != (values.get("diastolic_mmhg") is None):
        missing = "diastolic_mmhg" if values.get("diastolic_mmhg") is None else "systolic_mmhg"
        raise ValidationError({missing: "Enter both systolic and diastolic pressure."})
    if values.get("systolic_mmhg") is not None and values["systolic_mmhg"] <= values["diastolic_mmhg"]:
        raise ValidationError({"diastolic_mmhg": "Diastolic pressure must be below systolic."})
    pre_dose = s.first_dose_at is None or taken_at < s.first_dose_at
    reading = VitalsReading(clinic_id=s.clinic_id, session=s, taken_at=taken_at, pre_dose=pre_dose,
                            recorded_by=actor, recorded_at=now, **{f: values.get(f) for f in VITALS_FIELDS})
    reading.full_clean(validate_constraints=False)
    baseline = None if pre_dose else sel.baseline_reading(s)
    reading.save()
    s.vitals_count += 1
    s.last_vitals_at = max(filter(None, (s.last_vitals_at, taken_at)))
    s.save(update_fields=["vitals_count", "last_vitals_at"])
    protocol = sel.session_protocol(s)
    findings = evaluate_vitals(sel.to_domain_reading(reading), protocol.thresholds,
                               sel.to_domain_reading(baseline) if baseline is not None else None)
    alerts = [links.raise_alert(patient=s.patient, code=f"vitals.{f.code}", severity=links.ALERT_SEVERITY[f.severity],
                                message=f.message, source_type=links.SOURCE_VITALS, source_id=reading.pk, actor=actor)
              for f in findings]
    audit_record(actor=actor, action=AuditAction.VITALS_RECORDED, target=reading, patient_id=s.patient_id,
                 data={"measures": sorted(f for f in VITALS_FIELDS if values.get(f) is not None),
                       "findings": [f.code for f in findings], "pre_dose": pre_dose})
    return reading, alerts


@transaction.atomic
def vitals_overdue_check(*, session: DosingSession, now: dt.datetime | None = None) -> list:
    """Raise an alert for each scheduled reading that is overdue (once per time point)."""
    if session.state not in MONITORED_STATES or session.first_dose_at is None or session.signed_at:
        return []
    now = now or clock.now()
    protocol = sel.session_protocol(session)
    taken = [r.taken_at for r in session.vitals.all() if not r.pre_dose]
    due = vitals_due(protocol.vitals_schedule, session.first_dose_at, taken, now)
    alerts = []
    for at in due.overdue:
        minute = int((at - session.first_dose_at).total_seconds() // 60)
        alerts.append(links.raise_alert(
            patient=session.patient, code=f"vitals.overdue.{minute}min", severity=links.OVERDUE_SEVERITY,
            message=f"Vital signs due {minute} min after the first dose were not recorded",
            source_type=links.SOURCE_SESSION, source_id=session.pk))
    return alerts


def vitals_overdue_check_clinic(*, clinic_id: int, now: dt.datetime | None = None) -> int:
    """Overdue check for every session being monitored in a clinic (board refresh, `ketacare treatment_overdue`)."""
    count = 0
    sessions = (DosingSession.objects.filter(clinic_id=clinic_id, state__in=[s.value for s in MONITORED_STATES])
                .select_related("course", "patient").prefetch_related("vitals"))
    for session in sessions:
        count += len(vitals_overdue_check(session=session, now=now))
    return count


@transaction.atomic
def side_effects_record(*, actor, session: DosingSession, effects: list[str], other: str = "",
                        at: dt.datetime | None = None) -> SideEffectCheck:
    """The side-effect checklist at one time point (none ticked = checked, none present)."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    bad = sorted(set(effects) - set(c.SideEffect.values))
    if bad:
        raise ValidationError({"effects": f"Unknown side effects: {', '.join(bad)}."})
    s = _lock(session)
    if s.state not in VITALS_STATES:
        raise SessionStateConflict("Side effects are recorded from check-in until discharge.")
    now = clock.now()
    at = _aware(at) or now
    _not_future("at", at, now)
    row = SideEffectCheck(clinic_id=s.clinic_id, session=s, at=at, effects=sorted(set(effects)),
                          other=(other or "").strip(), recorded_by=actor)
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.SIDE_EFFECTS_RECORDED, target=row, patient_id=s.patient_id,
                 data={"effects": row.effects})
    return row


@transaction.atomic
def adverse_event_record(*, actor, session: DosingSession, description: str, severity: str, onset_at: dt.datetime,
                         serious: bool = False, action_taken: str = "",
                         resolved_at: dt.datetime | None = None) -> AdverseEvent:
    """An adverse event with its onset (and resolution if known). Serious or severe events raise an alert."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state in (c.SessionState.SCHEDULED, c.SessionState.CANCELLED):
        raise SessionStateConflict("Adverse events are recorded for sessions the patient attended.")
    now = clock.now()
    onset_at, resolved_at = _aware(onset_at), _aware(resolved_at)
    if onset_at is None:
        raise ValidationError({"onset_at": "Enter when it started."})
    _not_future("onset_at", onset_at, now)
    if resolved_at is not None:
        _not_future("resolved_at", resolved_at, now)
        if resolved_at < onset_at:
            raise ValidationError({"resolved_at": "Resolution cannot be before onset."})
    event = AdverseEvent(clinic_id=s.clinic_id, session=s, description=(description or "").strip(),
                         severity=severity, serious=bool(serious), onset_at=onset_at, resolved_at=resolved_at,
                         action_taken=(action_taken or "").strip(), recorded_by=actor, recorded_at=now,
                         resolution_recorded_by=actor if resolved_at else None)
    event.full_clean(validate_constraints=False)
    event.save()
    if event.serious or event.severity == c.AdverseEventSeverity.SEVERE:
        links.raise_alert(patient=s.patient, code="session.adverse_event",
                          severity="emergency" if event.serious else "high",
                          message=f"{'Serious' if event.serious else 'Severe'} adverse event: {event.description}",
                          source_type=links.SOURCE_ADVERSE_EVENT, source_id=event.pk, actor=actor)
    audit_record(actor=actor, action=AuditAction.ADVERSE_EVENT_RECORDED, target=event, patient_id=s.patient_id,
                 data={"severity": event.severity, "serious": event.serious})
    return event


@transaction.atomic
def adverse_event_resolve(*, actor, event: AdverseEvent, resolved_at: dt.datetime | None = None,
                          action_taken: str = "") -> AdverseEvent:
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, event)
    _lock(event.session)
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if event.resolved_at is not None:
        raise SessionStateConflict("This adverse event is already resolved.")
    now = clock.now()
    resolved_at = _aware(resolved_at) or now
    _not_future("resolved_at", resolved_at, now)
    if resolved_at < event.onset_at:
        raise ValidationError({"resolved_at": "Resolution cannot be before onset."})
    event.resolved_at, event.resolution_recorded_by = resolved_at, actor
    if (action_taken or "").strip():
        event.action_taken = "\n".join(filter(None, (event.action_taken, action_taken.strip())))
    event.full_clean(validate_constraints=False)
    event.save()
    audit_record(actor=actor, action=AuditAction.ADVERSE_EVENT_RESOLVED, target=event,
                 patient_id=event.session.patient_id,
                 data={"minutes": int((resolved_at - event.onset_at).total_seconds() // 60)})
    return event


# ---- Questionnaires and the suicide-risk block -----------------------------------------------------------------

@transaction.atomic
def session_measure_record(*, actor, session: DosingSession, instrument_key: str, answers: Any,
                           answered_at: dt.datetime, mode: str, offset_hours: int | None = None) -> SessionMeasure:
    """Record a questionnaire for this session (before the dose, or at `offset_hours` after it) and link it.
    Safety rules of the instrument raise their alerts (e.g. a high C-SSRS screen blocks dosing)."""
    from ketacare.instruments.services import response_record

    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state in (c.SessionState.SCHEDULED, c.SessionState.CANCELLED):
        raise SessionStateConflict("Check the patient in first.")
    if s.first_dose_at is None:
        timing, offset = c.MeasureTiming.PRE, 0
    else:
        timing, offset = c.MeasureTiming.POST, offset_hours if offset_hours is not None else 0
        if offset < 0:
            raise ValidationError({"offset_hours": "After the dose the offset is 0 hours or more."})
    baseline_measure = (s.measures.filter(instrument_key=instrument_key, timing=c.MeasureTiming.PRE)
                        .select_related("response").last()) if timing == c.MeasureTiming.POST else None
    response = response_record(patient=s.patient, actor=actor, instrument_key=instrument_key, answers=answers,
                               answered_at=_aware(answered_at) or clock.now(), mode=mode,
                               context=f"session:{s.pk}",
                               baseline=baseline_measure.response if baseline_measure else None)
    measure = SessionMeasure(clinic_id=s.clinic_id, session=s, response=response, instrument_key=instrument_key,
                             timing=timing, offset_hours=offset, linked_by=actor, linked_at=clock.now())
    measure.save()
    audit_record(actor=actor, action=AuditAction.SESSION_MEASURE_LINKED, target=measure, patient_id=s.patient_id,
                 data={"instrument": instrument_key, "timing": timing, "offset_hours": offset})
    return measure


@transaction.atomic
def session_alert_acknowledge(*, actor, session: DosingSession, alert_id: int, action: str):
    """Acknowledge one of the session's (or its patient's) alerts with the action taken. A suicide-risk alert that
    someone other than a prescriber acknowledged is cleared for dosing by a prescriber here; a prescriber who
    acknowledges one clears it in the same step (the clearance row records that a prescriber did it, so later role
    changes do not alter whether it blocks)."""
    _same_clinic(actor, session)
    alert = links.alert_get(session=session, alert_id=alert_id)
    if alert is None:
        raise sel.SessionNotFound("Alert not found.")
    if alert.status != "open" and alert in links.suicide_risk_blocks(session.patient):
        return suicide_risk_clear(actor=actor, session=session, alert=alert, note=action)
    if links.is_suicide_risk(alert) and actor.has_perm_to(Perm.PRESCRIBE):
        acknowledged = links.acknowledge_alert(alert=alert, actor=actor, action=action)
        suicide_risk_clear(actor=actor, session=session, alert=acknowledged, note=action)
        return acknowledged
    return links.acknowledge_alert(alert=alert, actor=actor, action=action)


@transaction.atomic
def suicide_risk_clear(*, actor, session: DosingSession, alert, note: str) -> SuicideRiskClearance:
    """A prescriber clears an acknowledged suicide-risk alert of the session's patient for dosing (once)."""
    _need(actor, Perm.PRESCRIBE)
    _same_clinic(actor, session)
    s = _lock(session)
    if not links.is_suicide_risk(alert) or alert.patient_id != s.patient_id or alert.clinic_id != s.clinic_id:
        raise ValidationError({"alert_id": "Not a suicide-risk alert of this patient."})
    if alert.status == "open":
        raise SessionStateConflict("Acknowledge the alert with the action taken first.")
    if SuicideRiskClearance.objects.filter(alert_id=alert.pk).exists():
        raise AlreadyCleared("This alert has already been cleared by a prescriber.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"action": "Describe the assessment done and its outcome."})
    session = s
    row = SuicideRiskClearance(clinic_id=session.clinic_id, alert=alert, session=session, cleared_by=actor,
                               cleared_at=clock.now(), note=note)
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.SUICIDE_RISK_CLEARED, target=row, patient_id=session.patient_id,
                 data={"alert": alert.pk, "code": alert.code})
    return row


# ---- Discharge, note, REMS -------------------------------------------------------------------------------------

@transaction.atomic
def discharge_criteria_record(*, actor, session: DosingSession, criteria: list[str],
                              ready_to_leave_minutes: int | None = None) -> DosingSession:
    """Which of the protocol's discharge criteria a clinician confirms now (all are needed to discharge)."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    allowed_states = {c.SessionState.OBSERVATION, c.SessionState.READY_FOR_DISCHARGE}
    if s.course.route == c.Route.NONE:
        allowed_states.add(c.SessionState.CHECKED_IN)
    if s.state not in allowed_states:
        raise SessionStateConflict("Discharge criteria are confirmed during observation, before discharge.")
    protocol = sel.session_protocol(s)
    unknown = sorted(set(criteria) - set(protocol.discharge_criteria))
    if unknown:
        raise ValidationError({"criteria": f"Not criteria of this protocol: {', '.join(unknown)}."})
    s.discharge_criteria = [k for k in protocol.discharge_criteria if k in set(criteria)]
    s.ready_to_leave_minutes = ready_to_leave_minutes
    s.discharge_recorded_by, s.discharge_recorded_at = actor, clock.now()
    s.full_clean(validate_constraints=False)
    s.save()
    audit_record(actor=actor, action=AuditAction.DISCHARGE_CRITERIA_RECORDED, target=s, patient_id=s.patient_id,
                 data={"criteria": s.discharge_criteria, "ready_to_leave_minutes": ready_to_leave_minutes})
    return s


@transaction.atomic
def session_note_save(*, actor, session: DosingSession, text: str) -> DosingSession:
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    s.note = (text or "").strip()
    s.full_clean(validate_constraints=False)
    s.save(update_fields=["note"])
    audit_record(actor=actor, action=AuditAction.SESSION_NOTE_SAVED, target=s, patient_id=s.patient_id,
                 data={"length": len(s.note)})
    return s


@transaction.atomic
def session_sign(*, actor, session: DosingSession, text: str | None = None) -> DosingSession:
    """Sign the session note once the session has ended; from then on nothing of the session changes."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state not in c.FINAL_STATES:
        raise SessionStateConflict("The note is signed after the session has ended (discharged, held, escalated "
                                   "or cancelled).")
    if text is not None:
        s.note = text.strip()
    if not s.note:
        raise ValidationError({"note": "Write the session note before signing it."})
    s.signed_at, s.signed_by = clock.now(), actor
    s.full_clean(validate_constraints=False)
    s.save()
    audit_record(actor=actor, action=AuditAction.SESSION_SIGNED, target=s, patient_id=s.patient_id,
                 data={"length": len(s.note)})
    return s


@transaction.atomic
def session_addendum_add(*, actor, session: DosingSession, text: str) -> SessionAddendum:
    """A correction or late entry for a signed session; the signed note is kept as it was."""
    _need(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = DosingSession.objects.select_for_update().get(pk=session.pk)
    if s.signed_at is None:
        raise SessionStateConflict("The session is not signed yet: edit the note itself.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the addendum."})
    row = SessionAddendum(clinic_id=s.clinic_id, session=s, text=text, by=actor, at=clock.now())
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.SESSION_ADDENDUM_ADDED, target=row, patient_id=s.patient_id,
                 data={"length": len(text)})
    return row


@transaction.atomic
def pmf_submit(*, actor, form: PatientMonitoringForm, reference: str = "") -> PatientMonitoringForm:
    """Mark the form submitted to the REMS (online or by fax); its fields are frozen as submitted."""
    _need(actor, Perm.CLINICAL_RECORD)
    if actor.clinic_id != form.clinic_id:
        raise sel.RemsFormNotFound()
    form = PatientMonitoringForm.objects.select_for_update().select_related("session").get(pk=form.pk)
    if form.submitted_at is not None:
        raise SessionStateConflict("This form was already submitted.")
    settings, _ = sel.rems_settings(form.clinic_id)
    draft = pmf_from_snapshot(session_snapshot(form.session), settings)
    if not draft.complete:
        raise PmfIncomplete("Missing: " + ", ".join(draft.missing + draft.problems), missing=list(draft.missing),
                            problems=list(draft.problems))
    form.data = {"fields": {k: jsonable(v) for k, v in draft.fields.items()}, "missing": [], "problems": []}
    form.submitted_at, form.submitted_by = clock.now(), actor
    form.submission_reference = (reference or "").strip()[:60]
    form.save()
    audit_record(actor=actor, action=AuditAction.PMF_SUBMITTED, target=form, patient_id=form.session.patient_id,
                 data={"due_on": form.due_on.isoformat()})
    return form


@transaction.atomic
def pmf_exported(*, actor, form: PatientMonitoringForm) -> None:
    audit_record(actor=actor, action=AuditAction.PMF_EXPORTED, target=form, patient_id=form.session.patient_id,
                 data={"format": "pdf"})


@transaction.atomic
def session_viewed(*, actor, session: DosingSession, via: str) -> None:
    audit_record(actor=actor, action=AuditAction.SESSION_VIEWED, target=session, patient_id=session.patient_id,
                 data={"via": via})

