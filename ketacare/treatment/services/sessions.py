"""The session workflow: state transitions and the pre-dose checklist."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.dosing import (
    DoseRefused,
    Sex,
    WeightBasis,
    dosing_weight,
)
from ketacare.treatment.domain.protocols import (
    WeightBasedDoseRule,
)
from ketacare.treatment.domain.rems import pmf_due_on
from ketacare.treatment.domain.states import SessionState, check_transition
from ketacare.treatment.models import (
    Course,
    DosingSession,
    PatientMonitoringForm,
    SessionTransition,
)
from ketacare.treatment.rems import PMF_TEMPLATES
from ketacare.treatment.services._common import DOSE_STEP_TARGETS, SessionStateConflict, _lock, _same_clinic


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
    require(actor, transition_perm(s, target))
    now = clock.now()
    reason = (reason or "").strip()
    if target is SessionState.CHECKED_IN and s.state == c.SessionState.SCHEDULED:
        # The clinic's protocol revision in force at check-in governs the whole session.
        s.protocol_setting = sel.protocol_setting_current(s.clinic_id, s.course.protocol_ref)
        s.protocol_pinned = True
    facts = sel.session_facts(s, now=now, reason=reason)
    previous = s.state
    check_transition(SessionState(previous), target, facts)
    if target is SessionState.DISCHARGED and (refusals := links.close_refusals(s)):
        raise SessionStateConflict(" ".join(refusals))
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
    if target.value in c.FINAL_STATES:
        links.sessions_changed(patient_id=s.patient_id, clinic_id=s.clinic_id)
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
    require(actor, Perm.CLINICAL_RECORD)
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
            require(actor, Perm.PRESCRIBE)  # the risk-benefit decision is the prescriber's (§6)
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
