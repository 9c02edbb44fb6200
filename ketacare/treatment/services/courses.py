"""Treatment courses: create from a protocol, reschedule, end."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.schedule import PlannedSession, ScheduleError, generate_course, reschedule
from ketacare.treatment.models import (
    Course,
    DosingSession,
)
from ketacare.treatment.services._common import CourseNotCleared, SessionStateConflict, _same_clinic
from ketacare.treatment.services.sessions import _set_state


@transaction.atomic
def course_create(*, actor, patient, protocol_ref: str, start_on: dt.date, open_ended_cycles: int = 0,
                  open_ended_cycle_days: int | None = None) -> Course:
    """Start a course: refused unless the route is cleared (signed approval + current consent); sessions are
    generated from the protocol's phases and can be moved afterwards."""
    require(actor, Perm.PRESCRIBE)
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
        raise CourseNotCleared("; ".join(clearance.reasons) or CourseNotCleared.__doc__ or "",
                               reasons=list(clearance.reasons))
    if problems := links.indication_problems_for(patient=patient, protocol_key=protocol.key):
        raise CourseNotCleared("; ".join(problems) + ".", reasons=list(problems))
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
    links.sessions_changed(patient_id=patient.pk, clinic_id=patient.clinic_id)
    return course


@transaction.atomic
def course_reschedule(*, actor, session: DosingSession, new_on: dt.date, shift_following: bool = False) -> Course:
    """Move a scheduled session (and, if asked, every later one by the same number of days)."""
    require(actor, Perm.CLINICAL_RECORD)
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
    links.sessions_changed(patient_id=course.patient_id, clinic_id=course.clinic_id)
    return course


@transaction.atomic
def course_end(*, actor, course: Course, status: str, reason: str) -> Course:
    """Complete or stop a course; its remaining scheduled sessions are cancelled with the reason."""
    require(actor, Perm.PRESCRIBE)
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
    links.sessions_changed(patient_id=course.patient_id, clinic_id=course.clinic_id)
    return course
