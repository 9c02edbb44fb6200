"""Monitoring: vitals (with overdue checks), side effects, adverse events."""

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
from ketacare.treatment.domain.vitals import evaluate_vitals, vitals_due
from ketacare.treatment.models import (
    AdverseEvent,
    DosingSession,
    SideEffectCheck,
    VitalsReading,
)
from ketacare.treatment.services._common import (
    MONITORED_STATES,
    VITALS_STATES,
    SessionStateConflict,
    _aware,
    _lock,
    _not_future,
    _same_clinic,
)

VITALS_FIELDS = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "resp_rate_per_min", "moaas",
                 "cadss_total")


def _value_of(reading: VitalsReading, code: str) -> str:
    """The measured value a finding is about, e.g. "185/110 mmHg" for bp.high."""
    r = reading
    measure = code.split(".")[0]
    return {"bp": f"{r.systolic_mmhg}/{r.diastolic_mmhg} mmHg", "hr": f"{r.heart_rate_bpm}/min",
            "spo2": f"SpO2 {r.spo2_pct} %", "rr": f"{r.resp_rate_per_min}/min", "moaas": f"MOAA/S {r.moaas}",
            "cadss": f"CADSS {r.cadss_total}"}.get(measure, "")


@transaction.atomic
def vitals_record(*, actor, session: DosingSession, taken_at: dt.datetime | None = None,
                  **values: int | None) -> tuple[VitalsReading, list]:
    """Store one reading; the thresholds it crosses (the protocol's, exactly as named) are one alert, or join the
    session's open vitals alert (returned as a list of at most one alert).

    The session row is locked so that readings recorded at the same moment by two nurses are both kept and counted.
    """
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    unknown = set(values) - set(VITALS_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    s = _lock(session)
    if s.state not in VITALS_STATES:
        raise SessionStateConflict("Vital signs are recorded from check-in until discharge.")
    now = clock.now()
    taken_at = _aware(taken_at) or now
    _not_future("taken_at", taken_at, now, s.patient.date_of_birth)
    if all(values.get(f) is None for f in VITALS_FIELDS):
        raise ValidationError({"systolic_mmhg": "Enter at least one measurement."})
    if (values.get("systolic_mmhg") is None) != (values.get("diastolic_mmhg") is None):
        missing = "diastolic_mmhg" if values.get("diastolic_mmhg") is None else "systolic_mmhg"
        raise ValidationError({missing: "Enter both systolic and diastolic pressure."})
    pre_dose = s.first_dose_at is None or taken_at < s.first_dose_at
    reading = VitalsReading(clinic_id=s.clinic_id, session=s, taken_at=taken_at, pre_dose=pre_dose,
                            recorded_by=actor, recorded_at=now, **{f: values.get(f) for f in VITALS_FIELDS})
    reading.full_clean(validate_constraints=False)
    # After each value's own range, so that 0/0 is "systolic at least ..." rather than a comparison of two zeros.
    systolic, diastolic = values.get("systolic_mmhg"), values.get("diastolic_mmhg")
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        raise ValidationError({"diastolic_mmhg": "Diastolic pressure must be below systolic."})
    baseline = None if pre_dose else sel.baseline_reading(s)
    reading.save()
    s.vitals_count += 1
    s.last_vitals_at = max(filter(None, (s.last_vitals_at, taken_at)))
    s.save(update_fields=["vitals_count", "last_vitals_at"])
    protocol = sel.session_protocol(s)
    findings = evaluate_vitals(sel.to_domain_reading(reading), protocol.thresholds,
                               sel.to_domain_reading(baseline) if baseline is not None else None)
    alert = links.raise_alert_event(
        patient=s.patient, source_type=links.SOURCE_VITALS, source_id=reading.pk, group_key=links.vitals_group(s.pk),
        observed_at=taken_at, actor=actor,
        findings=[(f"vitals.{f.code}", links.ALERT_SEVERITY[f.severity], f.message, _value_of(reading, f.code))
                  for f in findings])
    alerts = [alert] if alert is not None else []
    audit_record(actor=actor, action=AuditAction.VITALS_RECORDED, target=reading, patient_id=s.patient_id,
                 data={"measures": sorted(f for f in VITALS_FIELDS if values.get(f) is not None),
                       "findings": [f.code for f in findings], "pre_dose": pre_dose})
    return reading, alerts


@transaction.atomic
def vitals_overdue_check(*, session: DosingSession, now: dt.datetime | None = None) -> list:
    """Record each scheduled reading that is overdue (once per time point) as a part of the session's open
    overdue alert (one alert until acknowledged). Returns, per overdue time point, the alert it is a part of."""
    if session.state not in MONITORED_STATES or session.first_dose_at is None or session.signed_at:
        return []
    now = now or clock.now()
    protocol = sel.session_protocol(session)
    taken = [r.taken_at for r in session.vitals.all() if not r.pre_dose]
    due = vitals_due(protocol.vitals_schedule, session.first_dose_at, taken, now)
    alerts = []
    for at in due.overdue:
        minute = int((at - session.first_dose_at).total_seconds() // 60)
        alert = links.raise_alert_event(
            patient=session.patient, source_type=links.SOURCE_SESSION, source_id=session.pk,
            group_key=links.overdue_group(session.pk), observed_at=at,
            findings=[(f"vitals.overdue.{minute}min", links.OVERDUE_SEVERITY,
                       f"Vital signs due {minute} min after the first dose were not recorded", "")])
        alerts.append(alert)
    return alerts


def vitals_overdue_check_clinic(*, clinic_id: int, now: dt.datetime | None = None) -> int:
    """Overdue check for every session being monitored in a clinic."""
    count = 0
    sessions = (DosingSession.objects.filter(clinic_id=clinic_id, state__in=[s.value for s in MONITORED_STATES])
                .select_related("course", "patient").prefetch_related("vitals"))
    for session in sessions:
        count += len(vitals_overdue_check(session=session, now=now))
    return count


def vitals_overdue_check_all(now: dt.datetime | None = None) -> int:
    """Overdue check for every clinic: the worker's periodic job `treatment.vitals_overdue` (every minute) and
    `ketacare treatment_overdue`. Missed readings alert whether or not a floor board is open."""
    from ketacare.core.models import Clinic

    return sum(vitals_overdue_check_clinic(clinic_id=pk, now=now) for pk in Clinic.objects.values_list("pk", flat=True))


@transaction.atomic
def side_effects_record(*, actor, session: DosingSession, effects: list[str], other: str = "",
                        at: dt.datetime | None = None) -> SideEffectCheck:
    """The side-effect checklist at one time point (none ticked = checked, none present)."""
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    bad = sorted(set(effects) - set(c.SideEffect.values))
    if bad:
        raise ValidationError({"effects": f"Unknown side effects: {', '.join(bad)}."})
    s = _lock(session)
    if s.state not in VITALS_STATES:
        raise SessionStateConflict("Side effects are recorded from check-in until discharge.")
    now = clock.now()
    at = _aware(at) or now
    _not_future("at", at, now, s.patient.date_of_birth)
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
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state in (c.SessionState.SCHEDULED, c.SessionState.CANCELLED):
        raise SessionStateConflict("Adverse events are recorded for sessions the patient attended.")
    now = clock.now()
    onset, resolved_at = _aware(onset_at), _aware(resolved_at)
    if onset is None:
        raise ValidationError({"onset_at": "Enter when it started."})
    _not_future("onset_at", onset, now, s.patient.date_of_birth)
    if resolved_at is not None:
        _not_future("resolved_at", resolved_at, now, s.patient.date_of_birth)
        if resolved_at < onset:
            raise ValidationError({"resolved_at": "Resolution cannot be before onset."})
    event = AdverseEvent(clinic_id=s.clinic_id, session=s, description=(description or "").strip(),
                         severity=severity, serious=bool(serious), onset_at=onset, resolved_at=resolved_at,
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
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, event)
    s = _lock(event.session)
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if event.resolved_at is not None:
        raise SessionStateConflict("This adverse event is already resolved.")
    now = clock.now()
    resolved_at = _aware(resolved_at) or now
    _not_future("resolved_at", resolved_at, now, s.patient.date_of_birth)
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
