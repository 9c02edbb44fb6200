"""Treatment API: courses, sessions, state transitions (409 with the reason when refused), vitals, dose order and
administration. Routes spell out their full paths (the router is mounted at the API root)."""

import datetime as dt

from django.core.exceptions import ValidationError
from ninja import Router, Status

from ketacare.accounts.api_auth import api_perm
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed
from ketacare.treatment import selectors as sel
from ketacare.treatment import services
from ketacare.treatment.domain.states import TRANSITIONS, SessionState, transition_refusals
from ketacare.treatment.schemas import (
    AdministrationIn,
    AdministrationOut,
    CourseDetailOut,
    CourseIn,
    CourseOut,
    DoseOrderIn,
    DoseOrderOut,
    SessionOut,
    TransitionIn,
    VitalsIn,
    VitalsOut,
)

router = Router(tags=["treatment"])


def _user_name(user) -> str:
    return user.get_full_name() or user.get_username() if user else ""


def _require(**values) -> None:
    missing = {name: "This field is required." for name, value in values.items() if value in (None, "")}
    if missing:
        raise ValidationError(missing)


def _course_out(course, *, with_sessions: bool = False) -> dict:
    summary = sel.course_summary(course)
    out = {"id": course.pk, "patient_id": course.patient_id, "protocol": course.protocol_ref, "route": course.route,
           "status": course.status, "start_on": course.start_on, "sessions_done": summary["done"],
           "sessions_planned": summary["planned"], "next_due_on": summary["next_due_on"],
           "created_at": course.created_at, "ended_at": course.ended_at}
    if with_sessions:
        out["sessions"] = [{"id": s.pk, "number": s.number, "phase": s.phase, "planned_on": s.planned_on,
                            "state": s.state, "first_dose_at": s.first_dose_at, "discharged_at": s.discharged_at}
                           for s in course.sessions.all()]
    return out


def _order_out(order) -> dict:
    return {"id": order.pk, "session_id": order.session_id, "ordered_by": _user_name(order.ordered_by),
            "ordered_at": order.ordered_at, "dose_mg": order.dose_mg, "mg_per_kg": order.mg_per_kg,
            "weight_basis": order.weight_basis, "dosing_weight_kg": order.dosing_weight_kg,
            "concentration_mg_per_ml": order.concentration_mg_per_ml, "infusion_minutes": order.infusion_minutes,
            "volume_ml": order.volume_ml, "rate_mg_per_min": order.rate_mg_per_min,
            "rate_ml_per_h": order.rate_ml_per_h, "device_count": order.device_count, "working": order.working,
            "issues": order.issues, "override_reason": order.override_reason}


def _administration_out(row) -> dict:
    return {"id": row.pk, "session_id": row.session_id, "order_id": row.order_id, "device_number": row.device_number,
            "mg": row.mg, "given_at": row.given_at, "lot_number": row.lot_number,
            "given_by": _user_name(row.given_by), "warnings": row.warnings}


def _vitals_out(row, alerts=()) -> dict:
    return {"id": row.pk, "session_id": row.session_id, "taken_at": row.taken_at,
            **{f: getattr(row, f) for f in services.VITALS_FIELDS}, "pre_dose": row.pre_dose,
            "recorded_by": _user_name(row.recorded_by),
            "alerts": [{"id": a.pk, "code": a.code, "severity": a.severity, "message": a.message,
                        "status": a.status,
                        "findings": [{"code": f.code, "severity": f.severity, "message": f.message, "value": f.value}
                                     for f in a.findings.all() if f.source_type == "vitals" and f.source_id == row.pk]}
                       for a in alerts]}


def _session_out(session) -> dict:
    now = clock.now()
    protocol = sel.session_protocol(session)
    state = SessionState(session.state)
    facts = sel.session_facts(session, now=now)
    refusals = (transition_refusals(SessionState.PRE_DOSE, SessionState.DOSING, facts)
                if state in (SessionState.CHECKED_IN, SessionState.PRE_DOSE) and protocol.involves_dose else ())
    order = sel.current_order(session)
    first, obs_start = session.first_dose_at, sel.observation_start(session)
    return {
        "id": session.pk, "course_id": session.course_id, "patient_id": session.patient_id,
        "number": session.number, "phase": session.phase, "planned_on": session.planned_on, "state": session.state,
        "room": session.room, "protocol": protocol.ref, "checked_in_at": session.checked_in_at,
        "first_dose_at": first, "dose_completed_at": session.dose_completed_at,
        "discharged_at": session.discharged_at,
        "observation_minimum_minutes": protocol.observation_minimum_minutes,
        "observation_ends_at": (obs_start + dt.timedelta(minutes=protocol.observation_minimum_minutes)
                                if obs_start else None),
        "allowed_transitions": sorted(TRANSITIONS[state]),
        "pre_dose_refusals": [{"code": r.code, "reason": r.reason} for r in refusals],
        "discharge_criteria": session.discharge_criteria, "signed_at": session.signed_at,
        "dose_order": _order_out(order) if order else None,
        "administrations": [_administration_out(a) for a in session.administrations.select_related("given_by")],
        "vitals": [_vitals_out(v) for v in session.vitals.select_related("recorded_by")],
        "transitions": [{"from_state": t.from_state, "to_state": t.to_state, "at": t.at, "by": _user_name(t.by),
                         "reason": t.reason} for t in session.transitions.select_related("by")],
    }


@router.get("/patients/{patient_id}/courses", response=list[CourseOut], auth=api_perm(Perm.CLINICAL_VIEW))
def courses_list(request, patient_id: int):
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    patient_viewed(actor=request.auth, patient=patient, via="api_courses")
    return [_course_out(c) for c in sel.courses_for_patient(user=request.auth, patient=patient)]


@router.post("/patients/{patient_id}/courses", response={201: CourseOut}, auth=api_perm(Perm.PRESCRIBE))
def courses_create(request, patient_id: int, payload: CourseIn):
    """Start a course. 409 with `reasons` when the route is not cleared (approval, consent)."""
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    _require(protocol=payload.protocol, start_on=payload.start_on)
    assert payload.start_on is not None  # _require refused a missing one
    if payload.protocol not in sel.DEFAULT_PROTOCOLS:
        raise ValidationError({"protocol": f"Unknown protocol; one of {', '.join(sel.DEFAULT_PROTOCOLS)}."})
    course = services.course_create(actor=request.auth, patient=patient, protocol_ref=payload.protocol,
                                    start_on=payload.start_on, open_ended_cycles=payload.open_ended_cycles,
                                    open_ended_cycle_days=payload.open_ended_cycle_days)
    return Status(201, _course_out(course))


@router.get("/courses/{course_id}", response=CourseDetailOut, auth=api_perm(Perm.CLINICAL_VIEW))
def courses_get(request, course_id: int):
    course = sel.course_get_for(user=request.auth, course_id=course_id)
    patient_viewed(actor=request.auth, patient=course.patient, via="api_course")
    return _course_out(course, with_sessions=True)


@router.get("/sessions/{session_id}", response=SessionOut, auth=api_perm(Perm.CLINICAL_VIEW))
def sessions_get(request, session_id: int):
    session = sel.session_get_for(user=request.auth, session_id=session_id)
    services.session_viewed(actor=request.auth, session=session, via="api")
    return _session_out(session)


@router.post("/sessions/{session_id}/transition", response=SessionOut, auth=api_perm(Perm.CLINICAL_RECORD))
def sessions_transition(request, session_id: int, payload: TransitionIn):
    """Move the session to `to`. 409 with the reason (and every refusal in `refusals`) when not allowed now."""
    session = sel.session_get_for(user=request.auth, session_id=session_id)
    _require(to=payload.to)
    assert payload.to is not None  # _require refused a missing one
    session = services.session_transition(actor=request.auth, session=session, to=payload.to,
                                          reason=payload.reason, room=payload.room)
    return _session_out(sel.session_get_for(user=request.auth, session_id=session.pk))


@router.post("/sessions/{session_id}/vitals", response={201: VitalsOut}, auth=api_perm(Perm.CLINICAL_RECORD))
def sessions_vitals(request, session_id: int, payload: VitalsIn):
    """Record a reading; the alerts it raised come back with it."""
    session = sel.session_get_for(user=request.auth, session_id=session_id)
    values = payload.model_dump(exclude={"taken_at"})
    reading, alerts = services.vitals_record(actor=request.auth, session=session, taken_at=payload.taken_at,
                                             **values)
    return Status(201, _vitals_out(reading, alerts))


@router.post("/sessions/{session_id}/dose-order", response={201: DoseOrderOut}, auth=api_perm(Perm.PRESCRIBE))
def sessions_dose_order(request, session_id: int, payload: DoseOrderIn):
    """The prescriber's order with its working. 409 `dose.override_required` when outside the protocol without an
    override reason; 400 `dose.refused` above the hard maximum or not in whole devices."""
    session = sel.session_get_for(user=request.auth, session_id=session_id)
    order = services.dose_order(actor=request.auth, session=session, **payload.model_dump())
    return Status(201, _order_out(order))


@router.post("/sessions/{session_id}/administrations", response={201: AdministrationOut},
             auth=api_perm(Perm.DOSE_ADMINISTER))
def sessions_administer(request, session_id: int, payload: AdministrationIn):
    """One esketamine device (time, lot) or the start of the IV infusion."""
    session = sel.session_get_for(user=request.auth, session_id=session_id)
    row = services.dose_administer(actor=request.auth, session=session, lot_number=payload.lot_number,
                                   given_at=payload.given_at, device_number=payload.device_number,
                                   early_reason=payload.early_reason)
    return Status(201, _administration_out(row))
